// Gradient clipping, a field of every optimizer that the training loop applies
// to the whole gradient buffer before the optimizer's step.
//   value:       clamp each gradient to [-value, value] (Keras' clipvalue,
//                PyTorch's clip_grad_value_).
//   global_norm: scale all gradients by global_norm / max(norm, global_norm),
//                norm being the L2 norm over every gradient (Keras'
//                global_clipnorm, i.e. tf.clip_by_global_norm; PyTorch's
//                clip_grad_norm_ differs only by its +1e-6 in the denominator).
// 0 turns either off. Keras allows only one of them; with both, the value clamp
// runs first so the norm bound still holds for the gradients step receives.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>

#include "../core/simd.hpp"

namespace strata::optim {

struct gradient_clip {
    double global_norm = 0;
    double value = 0;
};

template <class T>
void clip_gradients(const gradient_clip& c, std::span<T> grads);

namespace detail {

// Squares summed in double even for float gradients: millions of float
// squares summed in float lose the small ones and bias the norm low.
template <class T>
double squared_norm(const T* g, std::size_t n) noexcept {
    using D = simd::batch<double>;
    constexpr std::size_t w = simd::width<double>;
    D acc(0.0);
    std::size_t i = 0;
    for (; i + w <= n; i += w) {
        const D x = D::load_unaligned(g + i);  // converts float lanes to double
        acc = simd::fma(x, x, acc);
    }
    double sum = simd::reduce_add(acc);
    for (; i < n; ++i) sum += static_cast<double>(g[i]) * static_cast<double>(g[i]);
    return sum;
}

}  // namespace detail

template <class T>
void clip_gradients(const gradient_clip& c, std::span<T> grads) {
    // !(x >= 0) also rejects NaN.
    if (!(c.value >= 0)) throw std::invalid_argument("gradient_clip: value must be >= 0 (0 turns it off)");
    if (!(c.global_norm >= 0))
        throw std::invalid_argument("gradient_clip: global_norm must be >= 0 (0 turns it off)");
    T* g = grads.data();
    const std::size_t n = grads.size();
    if (c.value > 0) {
        using V = simd::batch<T>;
        constexpr std::size_t w = simd::width<T>;
        const T hi = static_cast<T>(c.value), lo = -hi;
        std::size_t i = 0;
        for (; i + w <= n; i += w) simd::store(g + i, simd::min(simd::max(simd::load(g + i), V(lo)), V(hi)));
        for (; i < n; ++i) g[i] = std::clamp(g[i], lo, hi);
    }
    if (c.global_norm > 0) {
        const double norm = std::sqrt(detail::squared_norm(g, n));
        // Below the bound the gradients stay bit-identical rather than scaled by 1.
        if (!(norm > c.global_norm)) return;
        const T scale = static_cast<T>(c.global_norm / norm);
        simd::transform(g, g, n, [scale](auto x) { return x * decltype(x)(scale); });
    }
}

}  // namespace strata::optim
