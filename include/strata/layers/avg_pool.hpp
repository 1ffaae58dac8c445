// Average pooling over Pool x Pool windows (stride defaults to Pool).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "layer.hpp"
#include "pooling.hpp"

namespace strata {

template <class T, class In, std::size_t Pool, std::size_t Stride>
struct avg_pool_layer : parameter_free_layer {
    using geometry = detail::pool_geometry<In, Pool, Stride>;
    static constexpr std::size_t C = geometry::C, OH = geometry::OH, OW = geometry::OW;
    using in_shape = In;
    using out_shape = typename geometry::out_shape;
    static constexpr std::string_view name = "avg_pool";
    static constexpr T scale = T(1) / T(Pool * Pool);

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>&) const {
        for (std::size_t s = 0; s < n; ++s) {
            const T* image = in + s * In::size;
            T* pooled = out + s * out_shape::size;
            for (std::size_t oy = 0; oy < OH; ++oy)
                for (std::size_t ox = 0; ox < OW; ++ox) {
                    T* dst = pooled + (oy * OW + ox) * C;
                    std::fill_n(dst, C, T(0));
                    for (std::size_t ky = 0; ky < Pool; ++ky)
                        for (std::size_t kx = 0; kx < Pool; ++kx) {
                            const T* src = image + geometry::in_offset(oy, ox, ky, kx);
                            for (std::size_t c = 0; c < C; ++c) dst[c] += src[c];
                        }
                    for (std::size_t c = 0; c < C; ++c) dst[c] *= scale;
                }
        }
    }

    void backward(const T*, const T*, T* dout, T* din, T*, std::size_t n, const pass_context<T>&) const {
        if (!din) return;
        std::fill_n(din, n * In::size, T(0));
        for (std::size_t s = 0; s < n; ++s) {
            T* dimage = din + s * In::size;
            const T* grad = dout + s * out_shape::size;
            for (std::size_t oy = 0; oy < OH; ++oy)
                for (std::size_t ox = 0; ox < OW; ++ox) {
                    const T* g = grad + (oy * OW + ox) * C;
                    for (std::size_t ky = 0; ky < Pool; ++ky)
                        for (std::size_t kx = 0; kx < Pool; ++kx) {
                            T* dst = dimage + geometry::in_offset(oy, ox, ky, kx);
                            for (std::size_t c = 0; c < C; ++c) dst[c] += g[c] * scale;
                        }
                }
        }
    }
};

template <std::size_t Pool, std::size_t Stride = Pool>
struct avg_pool {
    template <class T, class In>
    static constexpr bool accepts() {
        return detail::pool_accepts<In, Pool>();
    }
    template <class T, class In>
    using bind = avg_pool_layer<T, In, Pool, Stride>;
};

}  // namespace strata
