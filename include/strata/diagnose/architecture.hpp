// What diagnose needs to know of a network's structure to say it does not
// suit the task: where the outputs come from, how many parameters that
// takes, and whether the loss scores each pixel. architecture_of reads it
// from the network's type and the loss.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "../model/visit.hpp"

namespace strata {

struct architecture_facts {
    std::size_t parameters = 0;
    // The loss scores pixels (segmentation): output_height x output_width x output_channels.
    bool per_pixel_loss = false;
    std::size_t output_height = 0, output_width = 0, output_channels = 0;
    std::string output_layer;  // the last layer with parameters, e.g. "7_dense" or "9_conv2d"
    bool output_from_dense = false;
    std::size_t output_layer_parameters = 0;
    bool image_input = false;  // the input is an image larger than 1 x 1
    std::size_t convolutions = 0;
};

template <class Net, class Loss>
architecture_facts architecture_of(const Net& net, const Loss&) {
    architecture_facts a;
    a.parameters = Net::param_count;
    using In = typename Net::in_shape;
    if constexpr (In::rank == 3) a.image_input = In::dims[0] > 1 && In::dims[1] > 1;
    if constexpr (requires { Loss::required_outputs; }) {
        a.per_pixel_loss = true;
        a.output_height = Loss::height;
        a.output_width = Loss::width;
        a.output_channels = Loss::required_outputs / (Loss::height * Loss::width);
    }
    visit_layers(net, [&](const layer_path& path, const auto& layer) {
        using L = std::remove_cvref_t<decltype(layer)>;
        if constexpr (requires { L::param_count; }) {
            if (L::name.find("conv") != std::string_view::npos) ++a.convolutions;
            if (L::param_count > 0 && !detail::visits_children<L>) {
                a.output_layer = path.to_string();
                a.output_from_dense = L::name == "dense";
                a.output_layer_parameters = L::param_count;
            }
        }
    });
    return a;
}

}  // namespace strata
