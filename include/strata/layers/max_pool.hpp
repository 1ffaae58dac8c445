// Max pooling over Pool x Pool windows (stride defaults to Pool). Backward
// finds each window's first element equal to the pooled output instead of
// storing indices; ties go to the first in row-major order, as in PyTorch.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "../core/simd.hpp"
#include "activation.hpp"
#include "layer.hpp"
#include "pooling.hpp"

namespace strata {

template <class T, class In, std::size_t Pool, std::size_t Stride>
struct max_pool_layer : parameter_free_layer {
    using geometry = detail::pool_geometry<In, Pool, Stride>;
    static constexpr std::size_t H = geometry::H, W = geometry::W, C = geometry::C;
    static constexpr std::size_t OH = geometry::OH, OW = geometry::OW;
    using in_shape = In;
    using out_shape = typename geometry::out_shape;
    static constexpr std::string_view name = "max_pool";

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>&) const {
        constexpr std::size_t w = simd::width<T>;
        for (std::size_t s = 0; s < n; ++s) {
            const T* image = in + s * In::size;
            T* pooled = out + s * out_shape::size;
            for (std::size_t oy = 0; oy < OH; ++oy)
                for (std::size_t ox = 0; ox < OW; ++ox) {
                    T* dst = pooled + (oy * OW + ox) * C;
                    std::size_t c = 0;
                    for (; c + w <= C; c += w) {
                        auto best = simd::load(image + geometry::in_offset(oy, ox, 0, 0) + c);
                        for (std::size_t ky = 0; ky < Pool; ++ky)
                            for (std::size_t kx = 0; kx < Pool; ++kx)
                                best = simd::max(best,
                                                 simd::load(image + geometry::in_offset(oy, ox, ky, kx) + c));
                        simd::store(dst + c, best);
                    }
                    for (; c < C; ++c) {
                        T best = image[geometry::in_offset(oy, ox, 0, 0) + c];
                        for (std::size_t ky = 0; ky < Pool; ++ky)
                            for (std::size_t kx = 0; kx < Pool; ++kx)
                                best = std::max(best, image[geometry::in_offset(oy, ox, ky, kx) + c]);
                        dst[c] = best;
                    }
                }
        }
    }

    // The backward pass of the layer before, with element-wise Activation,
    // as far as its activation and bias: din = the routed gradient times
    // Activation's derivative at the pooled value, and dbias (when not null)
    // += din's sums over pixels, taken over the pooled outputs.
    template <class Activation>
    void backward_through(const T* in, const T* out, const T* dout, T* din, T* dbias, std::size_t n) const
        requires(Stride == Pool) {
        alignas(64) T sums[C] = {};
        route<Activation>(in, out, dout, din, n, sums);
        if (dbias)
            for (std::size_t c = 0; c < C; ++c) dbias[c] += sums[c];
    }

    void backward(const T* in, const T* out, T* dout, T* din, T*, std::size_t n,
                  const pass_context<T>&) const {
        if (!din) return;
        route<identity>(in, out, dout, din, n, nullptr);
    }

private:
    // din = dout routed to each window's maximum, times Activation's
    // derivative there; with sums, their per-channel totals added to it.
    template <class Activation>
    void route(const T* in, const T* out, const T* dout, T* din, std::size_t n, T* sums) const {
        constexpr std::size_t w = simd::width<T>;
        using V = simd::batch<T>;
        // Non-overlapping windows write every covered input exactly once, so
        // only the uncovered border (odd sizes) needs zeroing up front.
        constexpr bool disjoint = Stride == Pool;
        constexpr bool covers_all = disjoint && OH * Pool == geometry::H && OW * Pool == geometry::W;
        if constexpr (!covers_all) std::fill_n(din, n * In::size, T(0));
        for (std::size_t s = 0; s < n; ++s) {
            const T* image = in + s * In::size;
            T* dimage = din + s * In::size;
            for (std::size_t o = 0; o < OH * OW; ++o) {
                const std::size_t oy = o / OW, ox = o % OW;
                const T* pooled = out + s * out_shape::size + o * C;
                const T* grad = dout + s * out_shape::size + o * C;
                std::size_t c = 0;
                // The window's first element equal to the pooled maximum takes the gradient.
                for (; c + w <= C; c += w) {
                    const V top = simd::load(pooled + c), zero(T(0));
                    const V g = simd::load(grad + c) * Activation::derivative_from_output(top);
                    if (sums) simd::store(sums + c, simd::load(sums + c) + g);
                    auto unclaimed = top == top;  // all true
                    for (std::size_t ky = 0; ky < Pool; ++ky)
                        for (std::size_t kx = 0; kx < Pool; ++kx) {
                            const std::size_t at = geometry::in_offset(oy, ox, ky, kx) + c;
                            const auto hit = (simd::load(image + at) == top) && unclaimed;
                            const V routed = simd::select(hit, g, zero);
                            simd::store(dimage + at, disjoint ? routed : simd::load(dimage + at) + routed);
                            unclaimed = unclaimed && !hit;
                        }
                }
                for (; c < C; ++c) {
                    const T g = grad[c] * Activation::derivative_from_output(pooled[c]);
                    if (sums) sums[c] += g;
                    bool claimed = false;
                    for (std::size_t ky = 0; ky < Pool; ++ky)
                        for (std::size_t kx = 0; kx < Pool; ++kx) {
                            const std::size_t at = geometry::in_offset(oy, ox, ky, kx) + c;
                            const bool hit = !claimed && image[at] == pooled[c];
                            claimed = claimed || hit;
                            const T routed = hit ? g : T(0);
                            dimage[at] = disjoint ? routed : dimage[at] + routed;
                        }
                }
            }
        }
    }
};

namespace detail {
// Layer runs its backward from a gradient that already went through its
// activation and bias (backward_from_activated), so a disjoint max_pool after
// it can do that part while it routes its gradient: at a window's maximum
// the activation's derivative is the one at the pooled value, and every
// other position gets none. Saves the layer's own pass over a gradient four
// times the pool's.
template <class Layer, class Next>
struct pools_gradient : std::false_type {};
template <class Layer, class T, class In, std::size_t Pool>
requires(Layer::activation::elementwise&& requires(const Layer& l, const T* x, T* y, std::size_t n,
                                                   const pass_context<T>& c) {
    l.backward_from_activated(x, y, y, y, n, c);
    Layer::bias_gradient(y);
}) struct pools_gradient<Layer, max_pool_layer<T, In, Pool, Pool>> : std::true_type {
};

// Such a pair's backward: the pool's gradient (pool_dout) through the
// layer's activation into scratch (the size of layer_out), then the
// layer's backward from there; din may be pool_dout's buffer.
template <class Layer, class Pool, class T>
void backward_pooled(const Layer& layer, const Pool& pool, const T* in, const T* layer_out, const T* pool_out,
                     const T* pool_dout, T* scratch, T* din, T* dparams, std::size_t n,
                     const pass_context<T>& layer_context) {
    pool.template backward_through<typename Layer::activation>(layer_out, pool_out, pool_dout, scratch,
                                                               Layer::bias_gradient(dparams), n);
    layer.backward_from_activated(in, scratch, din, dparams, n, layer_context);
}
}  // namespace detail

template <std::size_t Pool, std::size_t Stride = Pool>
struct max_pool {
    template <class T, class In>
    static constexpr bool accepts() {
        return detail::pool_accepts<In, Pool>();
    }
    template <class T, class In>
    using bind = max_pool_layer<T, In, Pool, Stride>;
};

}  // namespace strata
