// Every tensor of a network, each with its path in the network, seen through
// the layers' visit_tensors: the one walk that save/load, weight penalties
// and anything else that reads or writes parameters use.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../layers/layer.hpp"
#include "sequential.hpp"

namespace strata {

// Where a tensor's layer sits in the network. Built as a string only on
// request, so walks inside a training step (penalties) allocate nothing.
struct layer_path {
    std::size_t index;
    std::string_view layer;
    std::string to_string() const { return std::to_string(index) + "_" + std::string(layer); }
};

// f(layer_path, tensor_ref) for every tensor of net, layer by layer; the
// path's string is "<index>_<layer>" (0_conv2d, 4_batch_norm). A const net
// gives const data.
template <class Net, class F>
void for_each_tensor(Net& net, F&& f) {
    using N = std::remove_const_t<Net>;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using L = typename N::template layer_type<I>;
                // sequential's layer check made every layer with tensors visit them
                if constexpr (detail::visits_tensors<L>) {
                    const layer_path path{I, L::name};
                    L::visit_tensors(net.template layer<I>(), [&](const auto& ref) { f(path, ref); });
                }
            }(),
            ...);
    }
    (std::make_index_sequence<N::layer_count>{});
}

}  // namespace strata
