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

    template <class T>
    void step(std::span<T> params, std::span<const T> grads, state_type<T>& s) const {
        if (centered) {
            if (momentum > 0) return update<T, true, true>(params, grads, s);
            return update<T, true, false>(params, grads, s);
        }
        if (momentum > 0) return update<T, false, true>(params, grads, s);
        update<T, false, false>(params, grads, s);
    }

private:
    // One formula for vectors and the scalar tail; U is T or simd::batch<T>.
    template <class T, bool Centered, bool Momentum, class U>
    static U direction(U g, U& v, U& a, U& b, U r, U one_minus_r, U eps, U mu) noexcept {
        v = r * v + one_minus_r * g * g;
        U var = v;
        if constexpr (Centered) {
            a = r * a + one_minus_r * g;
            // v >= a^2 in exact arithmetic; rounding must not make sqrt NaN.
            var = simd::max(v - a * a, U(T(0)));
        }
        const U d = g / (simd::sqrt(var) + eps);
        if constexpr (Momentum) {
            b = mu * b + d;
            return b;
        }
        return d;
    }

    template <class T, bool Centered, bool Momentum>
    void update(std::span<T> params, std::span<const T> grads, state_type<T>& s) const {
        using V = simd::batch<T>;
        constexpr std::size_t w = simd::width<T>;
        const std::size_t n = params.size();
        // 1 - rho in double, as PyTorch does; in float it would be off by 2e-7 relative.
        const T rate = static_cast<T>(lr), r = static_cast<T>(rho), c = static_cast<T>(1.0 - rho),
                eps = static_cast<T>(epsilon), mu = static_cast<T>(momentum);
        T* p = params.data();
        const T* g = grads.data();
        T* v = s.square_avg.data();
        T* a = s.grad_avg.data();
        T* b = s.momentum_buffer.data();
        std::size_t i = 0;
        for (; i + w <= n; i += w) {
            V vi = simd::load(v + i), ai = Centered ? simd::load(a + i) : V(T(0)),
              bi = Momentum ? simd::load(b + i) : V(T(0));
            const V d =
                direction<T, Centered, Momentum>(simd::load(g + i), vi, ai, bi, V(r), V(c), V(eps), V(mu));
            simd::store(v + i, vi);
            if constexpr (Centered) simd::store(a + i, ai);
            if constexpr (Momentum) simd::store(b + i, bi);
            simd::store(p + i, simd::load(p + i) - V(rate) * d);
        }
        for (; i < n; ++i) {
            T ai = Centered ? a[i] : T(0), bi = Momentum ? b[i] : T(0);
            const T d = direction<T, Centered, Momentum>(g[i], v[i], ai, bi, r, c, eps, mu);
            if constexpr (Centered) a[i] = ai;
            if constexpr (Momentum) b[i] = bi;
            p[i] -= rate * d;
        }
    }
};

}  // namespace strata::optim
