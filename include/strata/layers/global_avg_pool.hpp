// Mean of each channel over the whole image: (H, W, C) -> (C).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "layer.hpp"

namespace strata {

template <class T, class In>
struct global_avg_pool_layer : parameter_free_layer {
    static_assert(is_image_shape<In>, "global_avg_pool expects an image input (height, width, channels)");
    static constexpr std::size_t pixels = In::dims[0] * In::dims[1], C = In::dims[2];
    using in_shape = In;
    using out_shape = shape<C>;
    static constexpr std::string_view name = "global_avg_pool";
    static constexpr T scale = T(1) / T(pixels);

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>&) const {
        for (std::size_t s = 0; s < n; ++s) {
            T* dst = out + s * C;
            std::fill_n(dst, C, T(0));
            for (std::size_t p = 0; p < pixels; ++p) {
                const T* src = in + (s * pixels + p) * C;
                for (std::size_t c = 0; c < C; ++c) dst[c] += src[c];
            }
            for (std::size_t c = 0; c < C; ++c) dst[c] *= scale;
        }
    }
    void backward(const T*, const T*, T* dout, T* din, T*, std::size_t n, const pass_context<T>&) const {
        if (!din) return;
        for (std::size_t s = 0; s < n; ++s)
            for (std::size_t p = 0; p < pixels; ++p)
                for (std::size_t c = 0; c < C; ++c) din[(s * pixels + p) * C + c] = dout[s * C + c] * scale;
    }
};

struct global_avg_pool {
    template <class T, class In>
    static constexpr bool accepts() {
        static_assert(is_image_shape<In>, "global_avg_pool expects an image input (height, width, channels)");
        return is_image_shape<In>;
    }
    template <class T, class In>
    using bind = global_avg_pool_layer<T, In>;
};

}  // namespace strata
