// Stochastic gradient descent with optional momentum, Nesterov momentum and
// L2 weight decay, in PyTorch's formulation (g += wd p; v = mu v + g;
// p -= lr v, or p -= lr (g + mu v) with Nesterov), which equals Keras' for a
// constant learning rate. The decay enters the gradient (unlike adamw's), as
// in PyTorch's SGD, so momentum carries it too.
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>

#include "../core/aligned_buffer.hpp"
#include "../core/simd.hpp"
#include "clip.hpp"
#include "optimizer.hpp"

namespace strata::optim {

struct sgd {
    double lr = 0.01;
    double momentum = 0.0;
    bool nesterov = false;
    double weight_decay = 0.0;
    gradient_clip clip{};

    template <class T>
    struct state_type {
        aligned_buffer<T> velocity;

        template <class F>
        void visit(F&& f) {
            f("velocity", velocity);
        }
    };

    template <class T>
    state_type<T> make_state(std::size_t n) const {
        if (!(lr > 0)) throw std::invalid_argument("sgd: lr must be positive");
        if (!(momentum >= 0 && momentum < 1)) throw std::invalid_argument("sgd: momentum must be in [0, 1)");
        if (nesterov && momentum == 0) throw std::invalid_argument("sgd: nesterov needs a momentum > 0");
        if (!(weight_decay >= 0)) throw std::invalid_argument("sgd: weight_decay must be >= 0");
        state_type<T> s;
        if (momentum > 0) s.velocity.resize(n);
        return s;
    }

    template <class T, class Ranges = serial_ranges>
    void step(std::span<T> params, std::span<const T> grads, state_type<T>& s, Ranges ranges = {}) const {
        T* p = params.data();
        const T* g = grads.data();
        T* v = s.velocity.data();
        const T rate = static_cast<T>(lr), mu = static_cast<T>(momentum), wd = static_cast<T>(weight_decay);
        const bool with_momentum = momentum > 0, look_ahead = nesterov;
        ranges(params.size(), [=](std::size_t begin, std::size_t end) {
            simd::over_range<T>(begin, end, [=](std::size_t i, auto lanes) {
                using V = decltype(lanes);
                const V pi = simd::load_as<V>(p + i);
                const V gi = simd::fma(V(wd), pi, simd::load_as<V>(g + i));
                V direction = gi;
                if (with_momentum) {
                    const V vi = simd::fma(V(mu), simd::load_as<V>(v + i), gi);
                    simd::store_as(v + i, vi);
                    direction = look_ahead ? simd::fma(V(mu), vi, gi) : vi;
                }
                simd::store_as(p + i, simd::fma(V(-rate), direction, pi));
            });
        });
    }
};

}  // namespace strata::optim
