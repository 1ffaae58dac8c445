// AdamW: Adam with decoupled weight decay, in PyTorch's formulation
//   p *= 1 - lr wd, then the Adam update of adam.hpp.
// The decay shrinks weights directly instead of entering the gradient, so
// Adam's per-parameter scaling does not weaken it for parameters with large
// gradients (Loshchilov & Hutter); Keras' AdamW computes the same.
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>

#include "adam.hpp"
#include "clip.hpp"
#include "optimizer.hpp"

namespace strata::optim {

struct adamw {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;
    double weight_decay = 1e-2;
    gradient_clip clip{};

    template <class T>
    using state_type = detail::adam_moments<T>;

    template <class T>
    state_type<T> make_state(std::size_t n) const {
        detail::check_adam_hyper_parameters("adamw", lr, beta1, beta2, epsilon);
        if (!(weight_decay >= 0)) throw std::invalid_argument("adamw: weight_decay must be >= 0");
        if (!(lr * weight_decay < 1))
            throw std::invalid_argument(
                "adamw: lr * weight_decay must be below 1, or the decay zeroes or flips the weights");
        return detail::make_adam_moments<T>(n);
    }

    template <class T, class Ranges = serial_ranges>
    void step(std::span<T> params, std::span<const T> grads, state_type<T>& s, Ranges ranges = {}) const {
        detail::adam_update(params, grads, s, lr, beta1, beta2, epsilon, 1.0 - lr * weight_decay, ranges);
    }
};

}  // namespace strata::optim
