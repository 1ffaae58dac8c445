// upsample<S> repeats each pixel S x S times (Keras' UpSampling2D, PyTorch's
// nearest interpolate); upsample<S, bilinear> interpolates with half-pixel
// centres (Keras' bilinear, PyTorch's align_corners=False). (H, W, C) -> (S*H, S*W, C).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include "layer.hpp"

namespace strata {

struct nearest {};
struct bilinear {};

namespace detail {
// For each output index along an axis of In input pixels scaled by S: the two
// input pixels it reads and the weight of the second.
template <std::size_t In, std::size_t S>
struct bilinear_axis {
    std::array<std::size_t, In * S> lo{}, hi{};
    std::array<double, In * S> weight_hi{};
    constexpr bilinear_axis() {
        for (std::size_t o = 0; o < In * S; ++o) {
            const double src = std::max((static_cast<double>(o) + 0.5) / static_cast<double>(S) - 0.5, 0.0);
            lo[o] = static_cast<std::size_t>(src);
            hi[o] = std::min(lo[o] + 1, In - 1);
            weight_hi[o] = src - static_cast<double>(lo[o]);
        }
    }
};
}  // namespace detail

template <class T, class In, std::size_t S, class Mode>
struct upsample_layer : parameter_free_layer {
    static_assert(is_image_shape<In>, "upsample expects an image input (height, width, channels)");
    static_assert(S >= 1, "upsample needs a factor of at least 1");
    static_assert(std::is_same_v<Mode, nearest> || std::is_same_v<Mode, bilinear>,
                  "upsample's interpolation is strata::nearest or strata::bilinear");
    static constexpr std::size_t H = In::dims[0], W = In::dims[1], C = In::dims[2];
    using in_shape = In;
    using out_shape = shape<S * H, S * W, C>;
    static constexpr std::string_view name = "upsample";

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>&) const {
        for (std::size_t s = 0; s < n; ++s) {
            const T* src = in + s * In::size;
            T* dst = out + s * out_shape::size;
            for (std::size_t oy = 0; oy < S * H; ++oy)
                for (std::size_t ox = 0; ox < S * W; ++ox) {
                    T* o = dst + (oy * S * W + ox) * C;
                    if constexpr (std::is_same_v<Mode, nearest>) {
                        std::copy_n(src + ((oy / S) * W + ox / S) * C, C, o);
                    } else {
                        const T wy = static_cast<T>(rows.weight_hi[oy]),
                                wx = static_cast<T>(cols.weight_hi[ox]);
                        const T* a = src + (rows.lo[oy] * W + cols.lo[ox]) * C;
                        const T* b = src + (rows.lo[oy] * W + cols.hi[ox]) * C;
                        const T* c = src + (rows.hi[oy] * W + cols.lo[ox]) * C;
                        const T* d = src + (rows.hi[oy] * W + cols.hi[ox]) * C;
                        for (std::size_t k = 0; k < C; ++k)
                            o[k] = (T(1) - wy) * ((T(1) - wx) * a[k] + wx * b[k]) +
                                   wy * ((T(1) - wx) * c[k] + wx * d[k]);
                    }
                }
        }
    }
    void backward(const T*, const T*, T* dout, T* din, T*, std::size_t n, const pass_context<T>&) const {
        if (!din) return;
        std::fill_n(din, n * In::size, T(0));
        for (std::size_t s = 0; s < n; ++s) {
            T* dst = din + s * In::size;
            const T* g = dout + s * out_shape::size;
            for (std::size_t oy = 0; oy < S * H; ++oy)
                for (std::size_t ox = 0; ox < S * W; ++ox) {
                    const T* go = g + (oy * S * W + ox) * C;
                    auto add = [&](std::size_t y, std::size_t x, T weight) {
                        T* d = dst + (y * W + x) * C;
                        for (std::size_t k = 0; k < C; ++k) d[k] += weight * go[k];
                    };
                    if constexpr (std::is_same_v<Mode, nearest>) {
                        add(oy / S, ox / S, T(1));
                    } else {
                        const T wy = static_cast<T>(rows.weight_hi[oy]),
                                wx = static_cast<T>(cols.weight_hi[ox]);
                        add(rows.lo[oy], cols.lo[ox], (T(1) - wy) * (T(1) - wx));
                        add(rows.lo[oy], cols.hi[ox], (T(1) - wy) * wx);
                        add(rows.hi[oy], cols.lo[ox], wy * (T(1) - wx));
                        add(rows.hi[oy], cols.hi[ox], wy * wx);
                    }
                }
        }
    }

private:
    static constexpr detail::bilinear_axis<H, S> rows{};
    static constexpr detail::bilinear_axis<W, S> cols{};
};

template <std::size_t S, class Mode = nearest>
struct upsample {
    template <class T, class In>
    static constexpr bool accepts() {
        static_assert(is_image_shape<In>, "upsample expects an image input (height, width, channels)");
        return is_image_shape<In>;
    }
    template <class T, class In>
    using bind = upsample_layer<T, In, S, Mode>;
};

}  // namespace strata
