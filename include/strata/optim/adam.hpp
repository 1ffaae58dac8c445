// Adam with bias correction, in PyTorch's formulation:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// eps defaults to PyTorch's 1e-8 (Keras uses 1e-7; set it to match).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "../core/aligned_buffer.hpp"
#include "../core/simd.hpp"
#include "optimizer.hpp"

namespace strata::optim {

struct adam {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;

    template <class T>
    struct state_type {
        aligned_buffer<T> m, v;
        std::uint64_t steps = 0;
    };

    template <class T>
    state_type<T> make_state(std::size_t n) const {
        if (!(lr > 0)) throw std::invalid_argument("adam: lr must be positive");
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
            throw std::invalid_argument("adam: beta1 and beta2 must be in [0, 1)");
        if (!(epsilon > 0)) throw std::invalid_argument("adam: epsilon must be positive");
        state_type<T> s;
        s.m.resize(n);
        s.v.resize(n);
        return s;
    }

    template <class T>
    void step(std::span<T> params, std::span<const T> grads, state_type<T>& s) const {
        using V = simd::batch<T>;
        constexpr std::size_t w = simd::width<T>;
        ++s.steps;
        const double t = static_cast<double>(s.steps);
        const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
        const T step_size = static_cast<T>(lr / (1.0 - std::pow(beta1, t)));
        const T inv_sqrt_correction = static_cast<T>(1.0 / std::sqrt(1.0 - std::pow(beta2, t)));
        const T eps = static_cast<T>(epsilon);
        const std::size_t n = params.size();
        T* p = params.data();
        T* m = s.m.data();
        T* v = s.v.data();
        const T* g = grads.data();
        std::size_t i = 0;
        for (; i + w <= n; i += w) {
            const V gi = simd::load(g + i);
            const V mi = xsimd::fma(V(b1), simd::load(m + i), V(T(1) - b1) * gi);
            const V vi = xsimd::fma(V(b2), simd::load(v + i), V(T(1) - b2) * gi * gi);
            simd::store(m + i, mi);
            simd::store(v + i, vi);
            const V denom = xsimd::sqrt(vi) * V(inv_sqrt_correction) + V(eps);
            simd::store(p + i, simd::load(p + i) - V(step_size) * mi / denom);
        }
        for (; i < n; ++i) {
            m[i] = b1 * m[i] + (T(1) - b1) * g[i];
            v[i] = b2 * v[i] + (T(1) - b2) * g[i] * g[i];
            p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_correction + eps);
        }
    }
};

}  // namespace strata::optim
