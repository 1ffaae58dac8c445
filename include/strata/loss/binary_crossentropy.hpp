// Binary cross-entropy per output, averaged over the outputs of a sample (as
// Keras). From logits it uses max(z,0) - z y + log(1 + e^-|z|), which never
// overflows; from probabilities it clips to [1e-7, 1 - 1e-7].
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>

#include "loss.hpp"

namespace strata::loss {

namespace detail {

// 1 / (1 + e^-z) without overflow for either sign of z.
inline double sigmoid(double z) {
    return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}

struct element_loss {
    double loss, slope;  // slope: d(loss)/d(prediction)
};

// Binary cross-entropy of one prediction z (a logit, or a probability) against
// a target t in [0, 1]. A clipped probability gets slope 0: moving it does not
// change the loss.
inline element_loss binary_cross_entropy_element(double z, double t, bool from_logits) {
    if (from_logits) return {std::max(z, 0.0) - z * t + std::log1p(std::exp(-std::abs(z))), sigmoid(z) - t};
    constexpr double eps = strata::detail::probability_epsilon;
    const double p = std::clamp(z, eps, 1.0 - eps);
    return {-(t * std::log(p) + (1 - t) * std::log(1 - p)), p == z ? (p - t) / (p * (1 - p)) : 0.0};
}

}  // namespace detail

struct binary_crossentropy {
    bool from_logits = false;
    static constexpr std::string_view name = "binary_crossentropy";
    static constexpr bool has_accuracy = true;

    std::size_t target_width(std::size_t outputs) const { return outputs; }

    template <class T>
    void check_targets(const T* y, std::size_t n, std::size_t outputs) const {
        for (std::size_t i = 0; i < n * outputs; ++i)
            if (!(y[i] >= T(0) && y[i] <= T(1)))
                throw usage_error(std::string(name) + ": target value " + std::to_string(i) + " is " +
                                  std::to_string(static_cast<double>(y[i])) + "; expected a value in [0, 1]");
    }

    template <class T>
    double evaluate(const T* pred, const T* y, std::size_t n, std::size_t outputs, T* grad,
                    T grad_scale) const {
        const double per_output = 1.0 / static_cast<double>(outputs);
        double total = 0;
        for (std::size_t i = 0; i < n * outputs; ++i) {
            const auto e = detail::binary_cross_entropy_element(static_cast<double>(pred[i]),
                                                                static_cast<double>(y[i]), from_logits);
            total += e.loss;
            if (grad) grad[i] = static_cast<T>(grad_scale * per_output * e.slope);
        }
        return total * per_output;
    }

    // Fraction of outputs on the right side of the threshold, per sample.
    template <class T>
    double accuracy_sum(const T* pred, const T* y, std::size_t n, std::size_t outputs) const {
        const double threshold = from_logits ? 0.0 : 0.5;
        double correct = 0;
        for (std::size_t i = 0; i < n * outputs; ++i)
            correct += (static_cast<double>(pred[i]) > threshold) == (static_cast<double>(y[i]) > 0.5);
        return correct / static_cast<double>(outputs);
    }
};

}  // namespace strata::loss
