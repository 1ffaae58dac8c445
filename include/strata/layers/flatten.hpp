// Flattens an image (H, W, C) into a vector (H*W*C) in NHWC order, as Keras
// with channels_last. The memory does not move; only the shape changes, so
// layer lists skip its passes (reshapes_only) wherever its input stays
// readable, and the copies below serve the rest.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

#include "layer.hpp"

namespace strata {

template <class T, class In>
struct flatten_layer : parameter_free_layer {
    using in_shape = In;
    using out_shape = shape<In::size>;
    static constexpr std::string_view name = "flatten";
    static constexpr bool reshapes_only = true;
    void forward(const T* in, T* out, std::size_t n, const pass_context<T>&) const {
        std::memcpy(out, in, n * In::size * sizeof(T));
    }
    void backward(const T*, const T*, T* dout, T* din, T*, std::size_t n, const pass_context<T>&) const {
        if (din) std::memcpy(din, dout, n * In::size * sizeof(T));
    }
};

struct flatten {
    template <class T, class In>
    using bind = flatten_layer<T, In>;
};

}  // namespace strata
