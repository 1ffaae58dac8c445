// Maximum of each channel over the whole image: (H, W, C) -> (C). The
// gradient goes to the first pixel holding the maximum, as PyTorch's
// adaptive_max_pool2d(x, 1) does.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "layer.hpp"

namespace strata {

template <class T, class In>
struct global_max_pool_layer : parameter_free_layer {
    static_assert(is_image_shape<In>, "global_max_pool expects an image input (height, width, channels)");
    static constexpr std::size_t pixels = In::dims[0] * In::dims[1], C = In::dims[2];
    using in_shape = In;
    using out_shape = shape<C>;
    static constexpr std::string_view name = "global_max_pool";

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>&) const {
        for (std::size_t s = 0; s < n; ++s) {
            T* dst = out + s * C;
            std::copy_n(in + s * pixels * C, C, dst);
            for (std::size_t p = 1; p < pixels; ++p) {
                const T* src = in + (s * pixels + p) * C;
                for (std::size_t c = 0; c < C; ++c) dst[c] = std::max(dst[c], src[c]);
            }
        }
    }
    // The winning pixel is found again from in and out rather than kept: it
    // costs one pass over the input and no workspace.
    void backward(const T* in, const T* out, T* dout, T* din, T*, std::size_t n,
                  const pass_context<T>&) const {
        if (!din) return;
        std::fill_n(din, n * pixels * C, T(0));
        for (std::size_t s = 0; s < n; ++s)
            for (std::size_t c = 0; c < C; ++c)
                for (std::size_t p = 0; p < pixels; ++p) {
                    const std::size_t at = (s * pixels + p) * C + c;
                    if (in[at] == out[s * C + c]) {
                        din[at] = dout[s * C + c];
                        break;
                    }
                }
    }
};

struct global_max_pool {
    template <class T, class In>
    static constexpr bool accepts() {
        static_assert(is_image_shape<In>, "global_max_pool expects an image input (height, width, channels)");
        return is_image_shape<In>;
    }
    template <class T, class In>
    using bind = global_max_pool_layer<T, In>;
};

}  // namespace strata
