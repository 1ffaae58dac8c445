// The loss protocol. A loss is a policy object with run-time settings
// (from_logits, ...) and, for n samples of `outputs` predictions each:
//   static constexpr std::string_view name;
//   static constexpr bool has_accuracy;          // false for regression losses
//   std::size_t target_width(std::size_t outputs) const;  // values of y per sample
//   void check_targets(const T* y, std::size_t n, std::size_t outputs) const;  // usage_error on bad y
//   double evaluate(const T* pred, const T* y, std::size_t n, std::size_t outputs,
//                   T* grad, T grad_scale) const;
//     returns the *sum* of the n per-sample losses and, when grad is not null,
//     writes grad_scale * d(per-sample loss)/d(pred) into it;
//   double accuracy_sum(const T* pred, const T* y, std::size_t n, std::size_t outputs) const;
//     returns the sum of per-sample accuracies (1/0 for classification).
// Optionally, `static constexpr std::size_t min_outputs`: fit and evaluate
// refuse at compile time a network with fewer outputs.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>

#include "../core/error.hpp"

namespace strata {

template <class L, class T = float>
concept loss_function = requires(const L& loss, const T* p, T* g, std::size_t n) {
    { L::name } -> std::convertible_to<std::string_view>;
    { L::has_accuracy } -> std::convertible_to<bool>;
    { loss.target_width(n) } -> std::convertible_to<std::size_t>;
    loss.check_targets(p, n, n);
    { loss.evaluate(p, p, n, n, g, T(1)) } -> std::convertible_to<double>;
    { loss.accuracy_sum(p, p, n, n) } -> std::convertible_to<double>;
};

namespace detail {

// Names the first member a loss lacks; returns true even then, so
// static_assert(detail::check_loss<L, T>()) adds no second, bare error.
template <class L, class T>
constexpr bool check_loss() {
    constexpr bool has_name = requires {
        { L::name } -> std::convertible_to<std::string_view>;
    };
    constexpr bool has_accuracy_flag = requires {
        { L::has_accuracy } -> std::convertible_to<bool>;
    };
    constexpr bool has_target_width = requires(const L& l, std::size_t n) {
        { l.target_width(n) } -> std::convertible_to<std::size_t>;
    };
    constexpr bool has_check_targets = requires(const L& l, const T* y, std::size_t n) {
        l.check_targets(y, n, n);
    };
    constexpr bool has_evaluate = requires(const L& l, const T* p, T* g, std::size_t n) {
        { l.evaluate(p, p, n, n, g, T(1)) } -> std::convertible_to<double>;
    };
    if constexpr (!has_name)
        static_assert(has_name,
                      "strata::loss_function: the type has no `static constexpr std::string_view name`");
    else if constexpr (!has_accuracy_flag)
        static_assert(has_accuracy_flag,
                      "strata::loss_function: the type has no `static constexpr bool has_accuracy`");
    else if constexpr (!has_target_width)
        static_assert(
            has_target_width,
            "strata::loss_function: the type has no `std::size_t target_width(std::size_t outputs) const`");
    else if constexpr (!has_check_targets)
        static_assert(has_check_targets,
                      "strata::loss_function: the type has no `void check_targets(const T* y, "
                      "std::size_t n, std::size_t outputs) const`");
    else if constexpr (!has_evaluate)
        static_assert(has_evaluate,
                      "strata::loss_function: the type has no `double evaluate(const T* pred, const "
                      "T* y, std::size_t n, std::size_t outputs, T* grad, T grad_scale) const`");
    else
        static_assert(loss_function<L, T>,
                      "strata::loss_function: the type has no `double accuracy_sum(const T* "
                      "pred, const T* y, std::size_t n, std::size_t outputs) const`");
    return true;
}

// A class-scoring loss on a one-output network trains nothing: say so.
template <class L, std::size_t Outputs>
constexpr bool loss_fits_outputs() {
    if constexpr (requires { L::required_outputs; }) return Outputs == L::required_outputs;
    if constexpr (requires { L::min_outputs; }) return Outputs >= L::min_outputs;
    return true;
}
template <class L, std::size_t Outputs>
constexpr bool check_loss_outputs() {
    if constexpr (requires { L::required_outputs; }) {
        static_assert(
            loss_fits_outputs<L, Outputs>(),
            "the per-pixel loss's mask shape does not match the network's output: a loss "
            "<H, W, C> needs H x W x C outputs per image (C class scores for each pixel of an H x W "
            "mask); end the network at the mask's resolution with conv2d<C, 1>");
    } else {
        static_assert(loss_fits_outputs<L, Outputs>(),
                      "the loss scores classes and needs one output per class (at least 2), but the "
                      "network ends in a single output: end with dense<classes>, or use "
                      "loss::binary_crossentropy for a yes/no output");
    }
    return true;
}

// Keras' clipping of probabilities before taking logs.
inline constexpr double probability_epsilon = 1e-7;

template <class T>
std::size_t argmax(const T* x, std::size_t n) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (x[i] > x[best]) best = i;
    return best;
}

template <class T>
void check_finite_targets(const T* y, std::size_t count, std::string_view loss) {
    for (std::size_t i = 0; i < count; ++i)
        if (!std::isfinite(static_cast<double>(y[i])))
            throw usage_error(std::string(loss) + ": target value " + std::to_string(i) + " is not finite");
}

}  // namespace detail

}  // namespace strata
