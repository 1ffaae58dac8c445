// The optimizer protocol. An optimizer is a policy object holding its
// hyper-parameters as public run-time fields and providing exactly:
//   double lr;                                   // the learning rate schedules set
//   template <class T> struct state_type;        // (or an alias template) moments, step count
//   template <class T> state_type<T> make_state(std::size_t n) const;  // validates, sizes for n params
//   template <class T> void step(std::span<T> params, std::span<const T> grads,
//                                state_type<T>& state) const;
// Optionally, step may take a fourth argument, ranges: it then counts the
// step once and calls ranges(n, body) once, body(begin, end) being the
// element-wise update of parameters [begin, end). ranges calls body on parts
// that cover [0, n) once each, possibly on several threads at once: that is
// how the trainer spreads the update over its threads and keeps its snapshot
// of the weights in the same pass. The built-in policies default it to
// serial_ranges.
// The state lives outside the policy so one policy object can be copied,
// printed or tuned while training keeps its state. Gradient clipping is not
// the optimizer's job: the training loop applies the policy's `clip` field
// (clip.hpp) before step, so a policy without one is still an optimizer.
// detail::check_optimizer<O, T>() states which of these members is missing.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>

namespace strata {

// The whole update in one part, on the calling thread.
struct serial_ranges {
    template <class Body>
    void operator()(std::size_t n, Body&& body) const {
        body(std::size_t{0}, n);
    }
};

namespace detail {

template <class O>
concept optimizer_has_lr = requires(const O& o) {
    { o.lr } -> std::convertible_to<double>;
};

template <class O, class T>
concept optimizer_has_state_type = requires {
    typename O::template state_type<T>;
};

template <class O, class T>
concept optimizer_has_make_state = requires(const O& o) {
    { o.template make_state<T>(std::size_t{}) } -> std::same_as<typename O::template state_type<T>>;
};

template <class O, class T>
concept optimizer_has_step = requires(const O& o, std::span<T> p, std::span<const T> g,
                                      typename O::template state_type<T>& s) {
    o.step(p, g, s);
};

template <class O, class T>
concept optimizer_splits_step = requires(const O& o, std::span<T> p, std::span<const T> g,
                                         typename O::template state_type<T>& s) {
    o.step(p, g, s, serial_ranges{});
};

}  // namespace detail

template <class O, class T = float>
concept optimizer = detail::optimizer_has_lr<O> && detail::optimizer_has_state_type<O, T> &&
    detail::optimizer_has_make_state<O, T> && detail::optimizer_has_step<O, T>;

namespace detail {

// One message per missing member; each check runs only once the earlier ones
// hold, since later ones name state_type<T> and would only repeat the first failure.
template <class O, class T>
constexpr bool check_optimizer() {
    static_assert(
        optimizer_has_lr<O>,
        "strata::optimizer: the type has no member `lr` (a double learning rate the schedules set)");
    if constexpr (optimizer_has_lr<O>) {
        static_assert(optimizer_has_state_type<O, T>,
                      "strata::optimizer: the type has no member template `state_type<T>` (the per-parameter "
                      "state step updates)");
        if constexpr (optimizer_has_state_type<O, T>) {
            static_assert(optimizer_has_make_state<O, T>,
                          "strata::optimizer: the type has no `make_state<T>(std::size_t)` returning "
                          "state_type<T>");
            if constexpr (optimizer_has_make_state<O, T>) {
                static_assert(
                    optimizer_has_step<O, T>,
                    "strata::optimizer: the type has no `step(std::span<T> params, std::span<const T> "
                    "grads, state_type<T>&)`");
            }
        }
    }
    return true;  // the failed assert above is the one message
}

}  // namespace detail

}  // namespace strata
