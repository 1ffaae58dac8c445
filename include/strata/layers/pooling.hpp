// Shared shape rule of the windowed pooling layers (max_pool, avg_pool):
// a Pool x Pool window moved by Stride (default: Pool, as Keras), valid padding.
#pragma once

#include <cstddef>

#include "layer.hpp"

namespace strata::detail {

// The checks a windowed pooling spec makes before it binds.
template <class In, std::size_t Pool>
constexpr bool pool_accepts() {
    static_assert(is_image_shape<In>,
                  "pooling expects an image input (height, width, channels); it cannot follow "
                  "flatten or dense");
    if constexpr (is_image_shape<In>) {
        static_assert(Pool <= In::dims[0] && Pool <= In::dims[1],
                      "pooling window is larger than its input: use a smaller window or remove a "
                      "pooling layer before it");
        return Pool <= In::dims[0] && Pool <= In::dims[1];
    }
    return false;
}

template <class In, std::size_t Pool, std::size_t Stride>
struct pool_geometry {
    static_assert(is_image_shape<In>,
                  "pooling expects an image input (height, width, channels); it cannot follow "
                  "flatten or dense");
    static constexpr std::size_t H = In::dims[0], W = In::dims[1], C = In::dims[2];
    static_assert(Pool >= 1, "pooling window must be at least 1");
    static_assert(Pool <= H && Pool <= W,
                  "pooling window is larger than its input: use a smaller window or remove a "
                  "pooling layer before it");
    static constexpr std::size_t OH = (H - Pool) / Stride + 1, OW = (W - Pool) / Stride + 1;
    using out_shape = shape<OH, OW, C>;

    static constexpr std::size_t in_offset(std::size_t oy, std::size_t ox, std::size_t ky, std::size_t kx) {
        return ((oy * Stride + ky) * W + ox * Stride + kx) * C;
    }
};

}  // namespace strata::detail
