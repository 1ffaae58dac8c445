// The optimizer protocol. An optimizer is a policy object holding its
// hyper-parameters as public run-time fields (lr, ...) and
//   template <class T> state_type<T> make_state(std::size_t n) const;
//   template <class T> void step(std::span<T> params, std::span<const T> grads,
//                                state_type<T>& state) const;
// The state (moments, step count) lives outside the policy so one policy
// object can be copied, printed or tuned while training keeps its state.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>

namespace strata {

template <class O, class T = float>
concept optimizer = requires(const O& o, std::span<T> p, std::span<const T> g,
                             typename O::template state_type<T>& s) {
    { o.template make_state<T>(std::size_t{}) } -> std::same_as<typename O::template state_type<T>>;
    o.step(p, g, s);
    { o.lr } -> std::convertible_to<double>;
};

}  // namespace strata
