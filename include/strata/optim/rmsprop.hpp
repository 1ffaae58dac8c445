// RMSprop in PyTorch's formulation (rho is PyTorch's alpha, named as in Keras):
//   v = rho v + (1 - rho) g^2
//   centered: a = rho a + (1 - rho) g;  d = sqrt(v - a^2) + eps,  else d = sqrt(v) + eps
//   momentum: b = momentum b + g / d;  p -= lr b,  else p -= lr g / d
// Keras adds eps inside the square root and defaults eps to 1e-7, so its
// numbers differ slightly; the defaults here are lr 1e-3, rho 0.9, eps 1e-8.
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>

#include "../core/aligned_buffer.hpp"
#include "../core/simd.hpp"
#include "clip.hpp"
#include "optimizer.hpp"

namespace strata::optim {

struct rmsprop {
    double lr = 1e-3;
    double rho = 0.9;
    double epsilon = 1e-8;
    double momentum = 0.0;
    bool centered = false;
    gradient_clip clip{};

    template <class T>
    struct state_type {
        aligned_buffer<T> square_avg, grad_avg, momentum_buffer;  // the last two only when used

        template <class F>
        void visit(F&& f) {
            f("square_avg", square_avg);
            f("grad_avg", grad_avg);
            f("momentum_buffer", momentum_buffer);
        }
    };

    template <class T>
    state_type<T> make_state(std::size_t n) const {
        if (!(lr > 0)) throw std::invalid_argument("rmsprop: lr must be positive");
        if (!(rho >= 0 && rho < 1)) throw std::invalid_argument("rmsprop: rho must be in [0, 1)");
        if (!(epsilon > 0)) throw std::invalid_argument("rmsprop: epsilon must be positive");
        if (!(momentum >= 0 && momentum < 1))
            throw std::invalid_argument("rmsprop: momentum must be in [0, 1)");
        state_type<T> s;
        s.square_avg.resize(n);
        if (centered) s.grad_avg.resize(n);
        if (momentum > 0) s.momentum_buffer.resize(n);
        return s;
    }

    template <class T, class Ranges = serial_ranges>
    void step(std::span<T> params, std::span<const T> grads, state_type<T>& s, Ranges ranges = {}) const {
        if (centered) {
            if (momentum > 0) return update<T, true, true>(params, grads, s, ranges);
            return update<T, true, false>(params, grads, s, ranges);
        }
        if (momentum > 0) return update<T, false, true>(params, grads, s, ranges);
        update<T, false, false>(params, grads, s, ranges);
    }

private:
    template <class T, bool Centered, bool Momentum, class Ranges>
    void update(std::span<T> params, std::span<const T> grads, state_type<T>& s, Ranges& ranges) const {
        // 1 - rho in double, as PyTorch does; in float it would be off by 2e-7 relative.
        const T rate = static_cast<T>(lr), r = static_cast<T>(rho), c = static_cast<T>(1.0 - rho),
                eps = static_cast<T>(epsilon), mu = static_cast<T>(momentum);
        T* p = params.data();
        const T* g = grads.data();
        T* v = s.square_avg.data();
        T* a = s.grad_avg.data();
        T* b = s.momentum_buffer.data();
        ranges(params.size(), [=](std::size_t begin, std::size_t end) {
            simd::over_range<T>(begin, end, [=](std::size_t i, auto lanes) {
                using V = decltype(lanes);
                const V gi = simd::load_as<V>(g + i);
                const V vi = simd::fma(V(r), simd::load_as<V>(v + i), V(c) * gi * gi);
                simd::store_as(v + i, vi);
                V var = vi;
                if constexpr (Centered) {
                    const V ai = simd::fma(V(r), simd::load_as<V>(a + i), V(c) * gi);
                    simd::store_as(a + i, ai);
                    // v >= a^2 in exact arithmetic; rounding must not make sqrt NaN.
                    var = simd::max(simd::fma(-ai, ai, vi), V(T(0)));
                }
                V direction = gi / (simd::sqrt(var) + V(eps));
                if constexpr (Momentum) {
                    direction = simd::fma(V(mu), simd::load_as<V>(b + i), direction);
                    simd::store_as(b + i, direction);
                }
                simd::store_as(p + i, simd::fma(V(-rate), direction, simd::load_as<V>(p + i)));
            });
        });
    }
};

}  // namespace strata::optim
