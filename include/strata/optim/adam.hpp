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
#include <string>

#include "../core/aligned_buffer.hpp"
#include "../core/simd.hpp"
#include "clip.hpp"
#include "optimizer.hpp"

namespace strata::optim {

namespace detail {

// Shared by adam and adamw, which differ only in the decay applied to p.
template <class T>
struct adam_moments {
    aligned_buffer<T> m, v;
    std::uint64_t steps = 0;

    // Every buffer and counter, by name: what checkpoints save and restore.
    template <class F>
    void visit(F&& f) {
        f("m", m);
        f("v", v);
        f("steps", steps);
    }
};

inline void check_adam_hyper_parameters(const char* name, double lr, double beta1, double beta2,
                                        double epsilon) {
    const std::string who(name);
    if (!(lr > 0)) throw std::invalid_argument(who + ": lr must be positive");
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
        throw std::invalid_argument(who + ": beta1 and beta2 must be in [0, 1)");
    if (!(epsilon > 0)) throw std::invalid_argument(who + ": epsilon must be positive");
}

template <class T>
adam_moments<T> make_adam_moments(std::size_t n) {
    adam_moments<T> s;
    s.m.resize(n);
    s.v.resize(n);
    return s;
}

// p = decay p - lr m_hat / (sqrt(v_hat) + eps). AdamW's decoupled weight decay
// is decay = 1 - lr wd; folding it in keeps the update one pass over memory.
template <class T, class Ranges>
void adam_update(std::span<T> params, std::span<const T> grads, adam_moments<T>& s, double lr, double beta1,
                 double beta2, double epsilon, double decay, Ranges&& ranges) {
    ++s.steps;
    const double t = static_cast<double>(s.steps);
    // 1 - beta in double: in float, 1 - 0.999f is off by 1e-5 relative, which
    // moved float results 1e-6 away from PyTorch's after a few steps.
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
    const T c1 = static_cast<T>(1.0 - beta1), c2 = static_cast<T>(1.0 - beta2);
    const T step_size = static_cast<T>(lr / (1.0 - std::pow(beta1, t)));
    const T inv_sqrt_correction = static_cast<T>(1.0 / std::sqrt(1.0 - std::pow(beta2, t)));
    const T eps = static_cast<T>(epsilon), keep = static_cast<T>(decay);
    T* p = params.data();
    T* m = s.m.data();
    T* v = s.v.data();
    const T* g = grads.data();
    ranges(params.size(), [=](std::size_t begin, std::size_t end) {
        simd::over_range<T>(begin, end, [=](std::size_t i, auto lanes) {
            using V = decltype(lanes);
            const V gi = simd::load_as<V>(g + i);
            const V mi = simd::fma(V(b1), simd::load_as<V>(m + i), V(c1) * gi);
            const V vi = simd::fma(V(b2), simd::load_as<V>(v + i), V(c2) * gi * gi);
            simd::store_as(m + i, mi);
            simd::store_as(v + i, vi);
            const V denom = simd::fma(simd::sqrt(vi), V(inv_sqrt_correction), V(eps));
            simd::store_as(p + i, simd::fma(V(keep), simd::load_as<V>(p + i), -(V(step_size) * mi / denom)));
        });
    });
}

}  // namespace detail

struct adam {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;
    gradient_clip clip{};

    template <class T>
    using state_type = detail::adam_moments<T>;

    template <class T>
    state_type<T> make_state(std::size_t n) const {
        detail::check_adam_hyper_parameters("adam", lr, beta1, beta2, epsilon);
        return detail::make_adam_moments<T>(n);
    }

    template <class T, class Ranges = serial_ranges>
    void step(std::span<T> params, std::span<const T> grads, state_type<T>& s, Ranges ranges = {}) const {
        detail::adam_update(params, grads, s, lr, beta1, beta2, epsilon, 1.0, ranges);
    }
};

}  // namespace strata::optim
