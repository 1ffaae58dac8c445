// Compile-time tensor shapes of one sample: shape<H, W, C> for images
// (channels last), shape<N> for flat vectors. The batch size is never part of
// a shape; it is a run-time value.
#pragma once

#include <array>
#include <cstddef>
#include <string>

namespace strata {

template <std::size_t... Dims>
struct shape {
    static_assert(sizeof...(Dims) == 1 || sizeof...(Dims) == 3,
                  "strata shapes are flat <N> or images <height, width, channels>");
    static_assert(((Dims > 0) && ...), "every dimension of a shape must be at least 1");
    static constexpr std::size_t rank = sizeof...(Dims);
    static constexpr std::array<std::size_t, rank> dims{Dims...};
    static constexpr std::size_t size = (Dims * ...);

    static std::string to_string() {
        std::string s = "(";
        for (std::size_t i = 0; i < rank; ++i) {
            if (i) s += ", ";
            s += std::to_string(dims[i]);
        }
        return s + ")";
    }
};

template <class S>
inline constexpr bool is_image_shape = S::rank == 3;
template <class S>
inline constexpr bool is_flat_shape = S::rank == 1;

template <class S>
inline constexpr std::size_t height_of = S::dims[0];
template <class S>
inline constexpr std::size_t width_of = S::dims[1];
template <class S>
inline constexpr std::size_t channels_of = S::dims[S::rank - 1];

}  // namespace strata
