// zero_padding<P> adds P rows of zeros above and below and P columns left and
// right (Keras' ZeroPadding2D(P), PyTorch's F.pad(x, (P, P, P, P))).
// (H, W, C) -> (H + 2P, W + 2P, C).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

#include "layer.hpp"

namespace strata {

template <class T, class In, std::size_t P>
struct zero_padding_layer : parameter_free_layer {
    static_assert(is_image_shape<In>, "zero_padding expects an image input (height, width, channels)");
    static constexpr std::size_t H = In::dims[0], W = In::dims[1], C = In::dims[2];
    using in_shape = In;
    using out_shape = shape<H + 2 * P, W + 2 * P, C>;
    static constexpr std::string_view name = "zero_padding";
    static constexpr std::size_t row = W * C, padded_row = (W + 2 * P) * C;

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>&) const {
        std::fill_n(out, n * out_shape::size, T(0));
        for (std::size_t s = 0; s < n; ++s)
            for (std::size_t y = 0; y < H; ++y)
                std::copy_n(in + s * In::size + y * row, row,
                            out + s * out_shape::size + (y + P) * padded_row + P * C);
    }
    void backward(const T*, const T*, T* dout, T* din, T*, std::size_t n, const pass_context<T>&) const {
        if (!din) return;
        for (std::size_t s = 0; s < n; ++s)
            for (std::size_t y = 0; y < H; ++y)
                std::copy_n(dout + s * out_shape::size + (y + P) * padded_row + P * C, row,
                            din + s * In::size + y * row);
    }
};

template <std::size_t P>
struct zero_padding {
    template <class T, class In>
    static constexpr bool accepts() {
        static_assert(is_image_shape<In>, "zero_padding expects an image input (height, width, channels)");
        return is_image_shape<In>;
    }
    template <class T, class In>
    using bind = zero_padding_layer<T, In, P>;
};

}  // namespace strata
