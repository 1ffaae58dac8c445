// Adagrad in PyTorch's formulation (without its lr_decay and weight_decay):
//   sum += g^2;  p -= lr g / (sqrt(sum) + eps)
// Keras puts eps inside the square root and starts the sum at 0.1, so it
// matches only approximately, with initial_accumulator = 0.1.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>

#include "../core/aligned_buffer.hpp"
#include "../core/simd.hpp"
#include "clip.hpp"
#include "optimizer.hpp"

namespace strata::optim {

struct adagrad {
    double lr = 0.01;
    double initial_accumulator = 0.0;
    double epsilon = 1e-10;
    gradient_clip clip{};

    template <class T>
    struct state_type {
        aligned_buffer<T> sum;

        template <class F>
        void visit(F&& f) {
            f("sum", sum);
        }
    };

    template <class T>
    state_type<T> make_state(std::size_t n) const {
        if (!(lr > 0)) throw std::invalid_argument("adagrad: lr must be positive");
        if (!(initial_accumulator >= 0))
            throw std::invalid_argument("adagrad: initial_accumulator must be >= 0");
        if (!(epsilon > 0)) throw std::invalid_argument("adagrad: epsilon must be positive");
        state_type<T> s;
        s.sum.resize(n);
        std::fill_n(s.sum.data(), n, static_cast<T>(initial_accumulator));
        return s;
    }

    template <class T, class Ranges = serial_ranges>
    void step(std::span<T> params, std::span<const T> grads, state_type<T>& s, Ranges ranges = {}) const {
        const T rate = static_cast<T>(lr), eps = static_cast<T>(epsilon);
        T* p = params.data();
        T* sum = s.sum.data();
        const T* g = grads.data();
        ranges(params.size(), [=](std::size_t begin, std::size_t end) {
            simd::over_range<T>(begin, end, [=](std::size_t i, auto lanes) {
                using V = decltype(lanes);
                const V gi = simd::load_as<V>(g + i);
                const V si = simd::fma(gi, gi, simd::load_as<V>(sum + i));
                simd::store_as(sum + i, si);
                simd::store_as(p + i,
                               simd::fma(V(-rate), gi / (simd::sqrt(si) + V(eps)), simd::load_as<V>(p + i)));
            });
        });
    }
};

}  // namespace strata::optim
