// Categorical cross-entropy, with integer labels (sparse_...) or one-hot /
// soft targets (categorical_...), from logits (stable log-sum-exp) or from
// probabilities (clipped to [1e-7, 1 - 1e-7] as Keras does).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>

#include "loss.hpp"

namespace strata::loss {

namespace detail {

// log(sum(exp(z))) without overflow.
template <class T>
double log_sum_exp(const T* z, std::size_t n) {
    const double top = static_cast<double>(*std::max_element(z, z + n));
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(z[i]) - top);
    return top + std::log(sum);
}

// Cross-entropy of one sample against a target distribution `target(i)`.
template <class T, class Target>
double cross_entropy_sample(const T* pred, std::size_t k, Target target, bool from_logits, T* grad,
                            T grad_scale) {
    double loss = 0;
    if (from_logits) {
        const double lse = log_sum_exp(pred, k);
        double target_mass = 0;
        for (std::size_t i = 0; i < k; ++i) {
            const double t = target(i);
            target_mass += t;
            loss -= t * (static_cast<double>(pred[i]) - lse);
        }
        if (grad)  // d/dz = softmax(z) * sum(t) - t
            for (std::size_t i = 0; i < k; ++i)
                grad[i] = static_cast<T>(
                    grad_scale * (std::exp(static_cast<double>(pred[i]) - lse) * target_mass - target(i)));
        return loss;
    }
    constexpr double eps = strata::detail::probability_epsilon;
    for (std::size_t i = 0; i < k; ++i) {
        const double p = static_cast<double>(pred[i]);
        const double clipped = std::clamp(p, eps, 1.0 - eps);
        const double t = target(i);
        loss -= t * std::log(clipped);
        if (grad) grad[i] = (p == clipped) ? static_cast<T>(-grad_scale * t / clipped) : T(0);
    }
    return loss;
}

}  // namespace detail

// y holds one class index per sample (as T); outputs are class scores.
struct sparse_categorical_crossentropy {
    bool from_logits = false;
    static constexpr std::string_view name = "sparse_categorical_crossentropy";
    static constexpr bool has_accuracy = true;
    static constexpr std::size_t min_outputs = 2;  // a softmax over one class is always 1

    std::size_t target_width(std::size_t) const { return 1; }

    template <class T>
    void check_targets(const T* y, std::size_t n, std::size_t outputs) const {
        for (std::size_t s = 0; s < n; ++s) {
            const double label = static_cast<double>(y[s]);
            if (!(label >= 0 && label < static_cast<double>(outputs) && label == std::floor(label)))
                throw usage_error(std::string(name) + ": label of sample " + std::to_string(s) + " is " +
                                  std::to_string(label) + "; expected a class index in [0, " +
                                  std::to_string(outputs) + ")");
        }
    }

    template <class T>
    double evaluate(const T* pred, const T* y, std::size_t n, std::size_t outputs, T* grad,
                    T grad_scale) const {
        double total = 0;
        for (std::size_t s = 0; s < n; ++s) {
            const auto label = static_cast<std::size_t>(y[s]);
            total += detail::cross_entropy_sample(
                pred + s * outputs, outputs, [label](std::size_t i) { return i == label ? 1.0 : 0.0; },
                from_logits, grad ? grad + s * outputs : nullptr, grad_scale);
        }
        return total;
    }

    template <class T>
    double accuracy_sum(const T* pred, const T* y, std::size_t n, std::size_t outputs) const {
        double correct = 0;
        for (std::size_t s = 0; s < n; ++s)
            correct += strata::detail::argmax(pred + s * outputs, outputs) == static_cast<std::size_t>(y[s]);
        return correct;
    }
};

// y holds a distribution over the classes per sample (one-hot or soft labels).
struct categorical_crossentropy {
    bool from_logits = false;
    static constexpr std::string_view name = "categorical_crossentropy";
    static constexpr bool has_accuracy = true;
    static constexpr std::size_t min_outputs = 2;  // a softmax over one class is always 1

    std::size_t target_width(std::size_t outputs) const { return outputs; }

    template <class T>
    void check_targets(const T* y, std::size_t n, std::size_t outputs) const {
        strata::detail::check_finite_targets(y, n * outputs, name);
        for (std::size_t i = 0; i < n * outputs; ++i)
            if (y[i] < T(0))
                throw usage_error(std::string(name) + ": target value " + std::to_string(i) +
                                  " is negative; expected probabilities");
    }

    template <class T>
    double evaluate(const T* pred, const T* y, std::size_t n, std::size_t outputs, T* grad,
                    T grad_scale) const {
        double total = 0;
        for (std::size_t s = 0; s < n; ++s) {
            const T* target = y + s * outputs;
            total += detail::cross_entropy_sample(
                pred + s * outputs, outputs,
                [target](std::size_t i) { return static_cast<double>(target[i]); }, from_logits,
                grad ? grad + s * outputs : nullptr, grad_scale);
        }
        return total;
    }

    template <class T>
    double accuracy_sum(const T* pred, const T* y, std::size_t n, std::size_t outputs) const {
        double correct = 0;
        for (std::size_t s = 0; s < n; ++s)
            correct += strata::detail::argmax(pred + s * outputs, outputs) ==
                       strata::detail::argmax(y + s * outputs, outputs);
        return correct;
    }
};

}  // namespace strata::loss
