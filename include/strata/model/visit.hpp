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

// Where a tensor's layer sits in the network: its index and name within its
// parent, and the parent's path for a layer inside a composite. Built as a
// string only on request, so walks inside a training step (penalties)
// allocate nothing.
struct layer_path {
    std::size_t index;
    std::string_view layer;
    const layer_path* parent = nullptr;
    // "3_residual.0_conv2d"
    std::string to_string() const {
        std::string own = std::to_string(index) + "_" + std::string(layer);
        return parent ? parent->to_string() + "." + own : own;
    }
    std::size_t depth() const { return parent ? parent->depth() + 1 : 0; }
};

namespace detail {
template <class Layer, class F>
void visit_layer(Layer& layer, const layer_path& path, F& f) {
    using L = std::remove_const_t<Layer>;
    f(path, layer);
    if constexpr (visits_children<L>) {
        L::visit_children(layer, [&](std::size_t index, std::string_view name, auto& child) {
            const layer_path child_path{index, name, &path};
            visit_layer(child, child_path, f);
        });
    }
}
}  // namespace detail

// f(layer_path, layer) for every layer of net, depth first: a composite,
// then its children (net's own layers have depth 0). E.g. every batch_norm:
//   visit_layers(net, [](const layer_path&, auto& l) {
//       if constexpr (requires { l.set_momentum(0.9); }) l.set_momentum(0.9); });
template <class Net, class F>
void visit_layers(Net& net, F&& f) {
    std::remove_const_t<Net>::visit_children(net, [&](std::size_t index, std::string_view name, auto& layer) {
        const layer_path path{index, name};
        detail::visit_layer(layer, path, f);
    });
}

// f(layer_path, tensor_ref) for every tensor of net, layer by layer and into
// composites; the path's string is "<index>_<layer>" (0_conv2d, 4_batch_norm,
// 3_residual.0_conv2d). A const net gives const data.
template <class Net, class F>
void for_each_tensor(Net& net, F&& f) {
    visit_layers(net, [&](const layer_path& path, auto& layer) {
        using L = std::remove_cvref_t<decltype(layer)>;
        // sequential's layer check made every layer with tensors visit them
        if constexpr (!detail::visits_children<L> && detail::visits_tensors<L>)
            L::visit_tensors(layer, [&](const auto& ref) { f(path, ref); });
    });
}

}  // namespace strata
