// What each convolution of a network makes of one image: the output
// channels of every convolution layer (conv2d, depthwise_conv2d,
// conv2d_transpose) tiled into one grey picture per layer, as the articles
// show feature maps. Only the network's own layers are shown: a composite
// (residual, concat) keeps its children's outputs to itself.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/shape.hpp"
#include "../model/sequential.hpp"
#include "image.hpp"

namespace strata::report {

namespace detail {

template <class Layer>
inline constexpr bool is_convolution =
    Layer::name.find("conv") != std::string_view::npos&& Layer::out_shape::rank == 3;

// Channels side by side in a near-square grid, one pixel of white between
// them; each channel scaled from its own minimum (black) to maximum (white).
template <class T>
image tile_channels(const T* values, std::size_t height, std::size_t width, std::size_t channels,
                    std::size_t shown, std::string caption) {
    const std::size_t columns = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(shown))));
    const std::size_t rows = (shown + columns - 1) / columns;
    image out{columns * width + columns - 1, rows * height + rows - 1, 1, {}, std::move(caption)};
    out.pixels.assign(out.width * out.height, 255);
    std::vector<T> plane(height * width);
    for (std::size_t c = 0; c < shown; ++c) {
        for (std::size_t i = 0; i < height * width; ++i) plane[i] = values[i * channels + c];
        const image tile = to_image(std::span<const T>(plane), height, width, 1, {});
        const std::size_t x0 = (c % columns) * (width + 1), y0 = (c / columns) * (height + 1);
        for (std::size_t y = 0; y < height; ++y)
            std::copy_n(tile.pixels.begin() + static_cast<std::ptrdiff_t>(y * width), width,
                        out.pixels.begin() + static_cast<std::ptrdiff_t>((y0 + y) * out.width + x0));
    }
    return out;
}

}  // namespace detail

// One image per convolution layer of net for `sample` (net's input size,
// channels last), run in inference mode; at most `max_channels` channels
// each, the first ones. Captions read "0_conv2d: 16 of 32 channels, 26 x 26".
template <class T, class Input, class... Layers>
std::vector<image> feature_maps(const basic_sequential<T, Input, Layers...>& net, std::span<const T> sample,
                                std::size_t max_channels = 16) {
    using Net = basic_sequential<T, Input, Layers...>;
    if (sample.size() != Net::in_shape::size)
        throw usage_error("feature_maps: the sample has " + std::to_string(sample.size()) +
                          " values; the network takes " + std::to_string(Net::in_shape::size) + " " +
                          Net::in_shape::to_string());
    if (max_channels == 0) throw usage_error("feature_maps: max_channels must be at least 1");
    typename Net::replica buffers;
    net.forward(buffers, sample.data(), 1, /*training=*/false, /*step_seed=*/0, /*first_sample=*/0);
    std::vector<image> maps;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using L = typename Net::template layer_type<I>;
                if constexpr (detail::is_convolution<L>) {
                    using S = typename L::out_shape;
                    const std::size_t channels = channels_of<S>, shown = std::min(channels, max_channels);
                    std::string caption = std::to_string(I) + "_" + std::string(L::name) + ": ";
                    caption += shown < channels ? std::to_string(shown) + " of " + std::to_string(channels)
                                                : std::to_string(channels);
                    caption += (channels == 1 ? " channel, " : " channels, ") + std::to_string(height_of<S>) +
                               " x " + std::to_string(width_of<S>);
                    maps.push_back(detail::tile_channels(buffers.output(I), height_of<S>, width_of<S>,
                                                         channels, shown, std::move(caption)));
                }
            }(),
            ...);
    }
    (std::make_index_sequence<Net::layer_count>{});
    return maps;
}

}  // namespace strata::report
