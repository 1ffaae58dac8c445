// Mean squared error over the outputs of a sample, for regression.
#pragma once

#include <cstddef>
#include <string_view>

#include "loss.hpp"

namespace strata::loss {

struct mean_squared_error {
    static constexpr std::string_view name = "mean_squared_error";
    static constexpr bool has_accuracy = false;

    std::size_t target_width(std::size_t outputs) const { return outputs; }

    template <class T>
    void check_targets(const T* y, std::size_t n, std::size_t outputs) const {
        strata::detail::check_finite_targets(y, n * outputs, name);
    }

    template <class T>
    double evaluate(const T* pred, const T* y, std::size_t n, std::size_t outputs, T* grad,
                    T grad_scale) const {
        const double per_output = 1.0 / static_cast<double>(outputs);
        double total = 0;
        for (std::size_t i = 0; i < n * outputs; ++i) {
            const double diff = static_cast<double>(pred[i]) - static_cast<double>(y[i]);
            total += diff * diff;
            if (grad) grad[i] = static_cast<T>(grad_scale * 2.0 * per_output * diff);
        }
        return total * per_output;
    }

    template <class T>
    double accuracy_sum(const T*, const T*, std::size_t, std::size_t) const {
        return 0;
    }
};

}  // namespace strata::loss
