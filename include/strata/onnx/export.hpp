// save_onnx(net, "model.onnx") writes a strata network as an ONNX model
// (opset 13) that onnx.checker accepts and OpenCV's DNN module, ONNX Runtime
// and others run. The graph is NCHW like PyTorch's exports: its input
// "input" is (N, C, H, W) (or (N, features)), image outputs are (N, C, H, W)
// and every weight is in PyTorch's layout. Where strata's channels-last
// order matters, flatten, the graph says so: Transpose(0, 2, 3, 1) to NHWC,
// then Flatten, so a dense layer after it keeps strata's weights as they are.
// Dropout is omitted (inference); batch_norm is BatchNormalization with the
// moving statistics. The file is written to a temporary name and renamed.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../layers/avg_pool.hpp"
#include "../layers/batch_norm.hpp"
#include "../layers/chain.hpp"
#include "../layers/concat.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/conv2d_transpose.hpp"
#include "../layers/dense.hpp"
#include "../layers/depthwise_conv2d.hpp"
#include "../layers/dropout.hpp"
#include "../layers/flatten.hpp"
#include "../layers/global_avg_pool.hpp"
#include "../layers/global_max_pool.hpp"
#include "../layers/max_pool.hpp"
#include "../layers/residual.hpp"
#include "../layers/upsample.hpp"
#include "../layers/zero_padding.hpp"
#include "../model/sequential.hpp"
#include "../model/visit.hpp"
#include "../model/weights.hpp"
#include "codec.hpp"
#include "proto.hpp"

namespace strata {

// The network as an ONNX model in memory, and written to a file.
template <class Net>
onnx::model to_onnx(const Net& net);
template <class Net>
void save_onnx(const Net& net, const std::filesystem::path& file);

namespace onnx::detail {

template <class>
inline constexpr bool dependent_false = false;

// A strata tensor behind an initializer: where its values are in the
// network's parameters (or state), and for each value of the ONNX tensor
// (row-major, PyTorch's layout) its index in strata's.
struct binding {
    std::string initializer;
    bool trainable = true;
    std::size_t offset = 0;
    std::vector<std::size_t> index;
};

// Compile-time geometry of the layers with a window.
template <class L>
struct window {
    static constexpr bool known = false;
};
template <class T, class In, std::size_t F, std::size_t K, class A, std::size_t S, bool Same, bool Bias,
          class I, class P>
struct window<conv2d_layer<T, In, F, K, A, S, Same, Bias, I, P>> {
    static constexpr bool known = true;
    static constexpr std::size_t kernel = K, stride = S, group = 1;
};
template <class T, class In, std::size_t K, std::size_t M, class A, std::size_t S, bool Same, bool Bias,
          class I, class P>
struct window<depthwise_conv2d_layer<T, In, K, M, A, S, Same, Bias, I, P>> {
    static constexpr bool known = true;
    static constexpr std::size_t kernel = K, stride = S, group = In::dims[2];
};
template <class T, class In, std::size_t F, std::size_t K, class A, std::size_t S, bool Same, bool Bias,
          class I, class P>
struct window<conv2d_transpose_layer<T, In, F, K, A, S, Same, Bias, I, P>> {
    static constexpr bool known = true;
    static constexpr std::size_t kernel = K, stride = S, group = 1;
};
template <class T, class In, std::size_t Pool, std::size_t S>
struct window<max_pool_layer<T, In, Pool, S>> {
    static constexpr bool known = true;
    static constexpr std::size_t kernel = Pool, stride = S, group = 1;
};
template <class T, class In, std::size_t Pool, std::size_t S>
struct window<avg_pool_layer<T, In, Pool, S>> {
    static constexpr bool known = true;
    static constexpr std::size_t kernel = Pool, stride = S, group = 1;
};

template <class L>
struct upsample_traits {
    static constexpr std::size_t factor = 0;
};
template <class T, class In, std::size_t S, class Mode>
struct upsample_traits<upsample_layer<T, In, S, Mode>> {
    static constexpr std::size_t factor = S;
    static constexpr bool bilinear = std::is_same_v<Mode, strata::bilinear>;
};
template <class L>
struct padding_traits {
    static constexpr std::size_t pad = 0;
};
template <class T, class In, std::size_t P>
struct padding_traits<zero_padding_layer<T, In, P>> {
    static constexpr std::size_t pad = P;
};

template <class Shape>
std::vector<std::int64_t> nchw_dims() {
    if constexpr (Shape::rank == 3)
        return {-1, std::int64_t(Shape::dims[2]), std::int64_t(Shape::dims[0]), std::int64_t(Shape::dims[1])};
    else
        return {-1, std::int64_t(Shape::size)};
}

inline attribute ints_attribute(std::string name, std::vector<std::int64_t> v) {
    attribute a;
    a.name = std::move(name);
    a.type = proto::type_ints;
    a.ints = std::move(v);
    return a;
}
inline attribute int_attribute(std::string name, std::int64_t v) {
    attribute a;
    a.name = std::move(name);
    a.type = proto::type_int;
    a.i = v;
    return a;
}
inline attribute float_attribute(std::string name, float v) {
    attribute a;
    a.name = std::move(name);
    a.type = proto::type_float;
    a.f = v;
    return a;
}
inline attribute string_attribute(std::string name, std::string v) {
    attribute a;
    a.name = std::move(name);
    a.type = proto::type_string;
    a.s = std::move(v);
    return a;
}

// Builds the graph layer by layer; each emit returns the name of the value
// the layer's output is. T is the network's scalar type.
template <class T>
struct graph_builder {
    model m;
    std::vector<binding> bindings;
    // The (C, H, W) each channels-last Transpose before a Flatten reorders, by its output.
    std::vector<std::pair<std::string, std::array<std::int64_t, 3>>> flattened;
    const T* params;
    const T* state;

    std::string add_node(std::string op, std::vector<std::string> inputs, std::vector<attribute> attributes,
                         const std::string& name) {
        node n;
        n.op_type = std::move(op);
        n.name = name + "/" + n.op_type + "_" + std::to_string(m.nodes.size());
        n.inputs = std::move(inputs);
        n.outputs = {n.name};
        n.attributes = std::move(attributes);
        m.nodes.push_back(std::move(n));
        return m.nodes.back().outputs[0];
    }

    std::string add_ints(const std::string& name, std::vector<std::int64_t> values) {
        tensor t;
        t.name = name;
        t.data_type = proto::int64;
        t.dims = {std::int64_t(values.size())};
        t.ints = std::move(values);
        m.initializers.push_back(std::move(t));
        return name;
    }
    std::string add_floats(const std::string& name, std::vector<float> values) {
        tensor t;
        t.name = name;
        t.dims = {std::int64_t(values.size())};
        t.floats = std::move(values);
        m.initializers.push_back(std::move(t));
        return name;
    }

    // Every tensor of a leaf layer as initializers in PyTorch's layout, in
    // visit_tensors order (weight, bias; gamma, beta, mean, variance).
    template <class L>
    std::vector<std::string> add_tensors(const L& layer, const layer_path& path) {
        std::vector<std::string> names;
        if constexpr (strata::detail::visits_tensors<L>) {
            L::visit_tensors(layer, [&](const auto& ref) {
                tensor t;
                t.name = path.to_string() + "." + std::string(ref.torch_name);
                for (auto d : strata::detail::layout_dims(ref, weight_layout::pytorch))
                    t.dims.push_back(std::int64_t(d));
                binding b;
                b.initializer = t.name;
                b.trainable = ref.trainable;
                b.offset = std::size_t((ref.trainable ? ref.data - params : ref.data - state));
                b.index = strata::detail::strata_index_of(ref, weight_layout::pytorch);
                t.floats.resize(ref.count);
                for (std::size_t k = 0; k < ref.count; ++k)
                    t.floats[k] = static_cast<float>(ref.data[b.index[k]]);
                names.push_back(t.name);
                m.initializers.push_back(std::move(t));
                bindings.push_back(std::move(b));
            });
        }
        return names;
    }

    template <class A>
    std::string activation(const std::string& x, const std::string& name) {
        if constexpr (A::name == "linear")
            return x;
        else if constexpr (A::name == "relu")
            return add_node("Relu", {x}, {}, name);
        else if constexpr (A::name == "sigmoid")
            return add_node("Sigmoid", {x}, {}, name);
        else if constexpr (A::name == "tanh")
            return add_node("Tanh", {x}, {}, name);
        else if constexpr (A::name == "softmax")
            return add_node("Softmax", {x}, {int_attribute("axis", 1)}, name);  // channels in NCHW
        else if constexpr (A::name == "leaky_relu")
            return add_node("LeakyRelu", {x}, {float_attribute("alpha", float(A::alpha))}, name);
        else if constexpr (A::name == "elu")
            return add_node("Elu", {x}, {float_attribute("alpha", float(A::alpha))}, name);
        else
            static_assert(dependent_false<A>, "save_onnx: this activation has no ONNX operator");
    }

    // An NCHW image as strata's channels-last vector; a vector stays.
    template <class Shape>
    std::string channels_last_matrix(const std::string& x, const std::string& name) {
        if constexpr (Shape::rank == 1) {
            return x;
        } else {
            std::string y = x;
            if constexpr (Shape::dims[0] * Shape::dims[1] > 1) {
                y = add_node("Transpose", {y}, {ints_attribute("perm", {0, 2, 3, 1})}, name);
                flattened.push_back({y,
                                     {std::int64_t(Shape::dims[2]), std::int64_t(Shape::dims[0]),
                                      std::int64_t(Shape::dims[1])}});
            }
            return add_node("Flatten", {y}, {int_attribute("axis", 1)}, name);
        }
    }

    template <class L>
    std::string conv_like(const L& layer, const std::string& x, const std::string& op,
                          const std::string& name, const layer_path& path) {
        using W = window<L>;
        auto inputs = add_tensors(layer, path);
        inputs.insert(inputs.begin(), x);
        const auto k = std::int64_t(W::kernel), s = std::int64_t(W::stride);
        const auto rb = std::int64_t(L::rows_axis::pad_before), cb = std::int64_t(L::cols_axis::pad_before);
        const auto re = std::int64_t(L::rows_axis::total_pad) - rb,
                   ce = std::int64_t(L::cols_axis::total_pad) - cb;
        std::vector<attribute> a{ints_attribute("kernel_shape", {k, k}), ints_attribute("strides", {s, s}),
                                 ints_attribute("pads", {rb, cb, re, ce}),
                                 ints_attribute("dilations", {1, 1}),
                                 int_attribute("group", std::int64_t(W::group))};
        if (op != "ConvTranspose")
            return activation<typename L::activation>(add_node(op, std::move(inputs), std::move(a), name),
                                                      name);
        // The adjoint conv's padding, made symmetric (OpenCV runs no other): the
        // rows no input reaches are output padding, the extra rows a Slice drops.
        constexpr auto oh = std::int64_t(L::out_shape::dims[0]), ow = std::int64_t(L::out_shape::dims[1]);
        constexpr auto h = std::int64_t(L::in_shape::dims[0]), w = std::int64_t(L::in_shape::dims[1]);
        const std::int64_t full_h = (h - 1) * s + k - 2 * rb, full_w = (w - 1) * s + k - 2 * cb;
        const std::int64_t extra_h = std::max<std::int64_t>(oh - full_h, 0),
                           extra_w = std::max<std::int64_t>(ow - full_w, 0);
        a[2] = ints_attribute("pads", {rb, cb, rb, cb});
        a.push_back(ints_attribute("output_padding", {extra_h, extra_w}));
        std::string y = add_node(op, std::move(inputs), std::move(a), name);
        if (full_h + extra_h > oh || full_w + extra_w > ow)
            y = add_node("Slice",
                         {y, add_ints(name + ".starts", {0, 0}), add_ints(name + ".ends", {oh, ow}),
                          add_ints(name + ".axes", {2, 3})},
                         {}, name);
        return activation<typename L::activation>(y, name);
    }

    template <class L>
    std::string emit(const L& layer, const std::string& x, const layer_path& path) {
        const std::string name = path.to_string();
        using In = typename L::in_shape;
        if constexpr (L::name == "conv2d") {
            return conv_like(layer, x, "Conv", name, path);
        } else if constexpr (L::name == "depthwise_conv2d") {
            return conv_like(layer, x, "Conv", name, path);
        } else if constexpr (L::name == "conv2d_transpose") {
            return conv_like(layer, x, "ConvTranspose", name, path);
        } else if constexpr (L::name == "dense") {
            auto inputs = add_tensors(layer, path);
            inputs.insert(inputs.begin(), channels_last_matrix<In>(x, name));
            return activation<typename L::activation>(
                add_node("Gemm", std::move(inputs), {int_attribute("transB", 1)}, name), name);
        } else if constexpr (L::name == "max_pool" || L::name == "avg_pool") {
            const auto k = std::int64_t(window<L>::kernel), s = std::int64_t(window<L>::stride);
            return add_node(L::name == "max_pool" ? "MaxPool" : "AveragePool", {x},
                            {ints_attribute("kernel_shape", {k, k}), ints_attribute("strides", {s, s}),
                             ints_attribute("pads", {0, 0, 0, 0})},
                            name);
        } else if constexpr (L::name == "global_avg_pool" || L::name == "global_max_pool") {
            const auto y =
                add_node(L::name == "global_avg_pool" ? "GlobalAveragePool" : "GlobalMaxPool", {x}, {}, name);
            return add_node("Flatten", {y}, {int_attribute("axis", 1)}, name);  // (N, C, 1, 1) -> (N, C)
        } else if constexpr (L::name == "batch_norm") {
            auto inputs = add_tensors(layer, path);
            inputs.insert(inputs.begin(), x);
            return add_node("BatchNormalization", std::move(inputs),
                            {float_attribute("epsilon", float(layer.epsilon()))}, name);
        } else if constexpr (L::name == "flatten") {
            return channels_last_matrix<In>(x, name);
        } else if constexpr (L::name == "dropout") {
            return x;  // inference
        } else if constexpr (L::name == "zero_padding") {
            constexpr auto p = std::int64_t(padding_traits<L>::pad);
            return add_node("Pad", {x, add_ints(name + ".pads", {0, 0, p, p, 0, 0, p, p})},
                            {string_attribute("mode", "constant")}, name);
        } else if constexpr (L::name == "upsample") {
            using U = upsample_traits<L>;
            const auto s = float(U::factor);
            std::vector<attribute> a;
            if constexpr (U::bilinear) {
                a = {string_attribute("mode", "linear"),
                     string_attribute("coordinate_transformation_mode", "half_pixel")};
            } else {
                a = {string_attribute("mode", "nearest"),
                     string_attribute("coordinate_transformation_mode", "asymmetric"),
                     string_attribute("nearest_mode", "floor")};
            }
            return add_node("Resize", {x, "", add_floats(name + ".scales", {1, 1, s, s})}, std::move(a),
                            name);
        } else if constexpr (requires { typename L::activation; } && L::param_count == 0 &&
                             !strata::detail::visits_children<L>) {
            return activation<typename L::activation>(x, name);  // an activation layer
        } else if constexpr (L::name == "residual") {
            std::string f = x, shortcut = x;
            L::visit_children(layer, [&](std::size_t index, std::string_view child_name, const auto& child) {
                const layer_path child_path{index, child_name, &path};
                if (child_name == "shortcut" && index == L::block_type::count)
                    shortcut = emit(child, x, child_path);
                else
                    f = emit(child, f, child_path);
            });
            return add_node("Add", {shortcut, f}, {}, name);
        } else if constexpr (L::name == "concat") {
            std::vector<std::string> parts;
            L::visit_children(layer, [&](std::size_t index, std::string_view child_name, const auto& child) {
                const layer_path child_path{index, child_name, &path};
                parts.push_back(emit(child, x, child_path));
            });
            return add_node("Concat", std::move(parts), {int_attribute("axis", 1)}, name);
        } else if constexpr (L::name == "skip_concat") {
            return add_node("Concat", {x, chain(layer, x, path)}, {int_attribute("axis", 1)}, name);
        } else if constexpr (strata::detail::visits_children<L>) {
            return chain(layer, x, path);  // chain, shortcut: children in order
        } else {
            static_assert(dependent_false<L>, "save_onnx: this layer has no ONNX mapping");
        }
    }

    template <class L>
    std::string chain(const L& layer, const std::string& x, const layer_path& path) {
        std::string y = x;
        L::visit_children(layer, [&](std::size_t index, std::string_view child_name, const auto& child) {
            const layer_path child_path{index, child_name, &path};
            y = emit(child, y, child_path);
        });
        return y;
    }
};

// The graph of net and which strata tensor each initializer holds.
template <class Net>
graph_builder<typename Net::scalar_type> build_graph(const Net& net) {
    using T = typename Net::scalar_type;
    graph_builder<T> b{{}, {}, {}, net.parameters().data(), net.state().data()};
    b.m.opset = onnx::opset;
    b.m.producer_name = "strata";
    b.m.producer_version = "0.1.0";
    b.m.graph_name = "strata";
    b.m.inputs.push_back({"input", proto::float32, nchw_dims<typename Net::in_shape>()});
    std::string y = "input";
    Net::visit_children(net, [&](std::size_t index, std::string_view name, const auto& layer) {
        const layer_path path{index, name};
        y = b.emit(layer, y, path);
    });
    if (y == "input") {
        b.add_node("Identity", {y}, {}, "output");
        y = b.m.nodes.back().outputs[0];
    }
    for (auto& n : b.m.nodes)  // the last value is the graph's output
        for (auto& o : n.outputs)
            if (o == y) o = "output";
    b.m.outputs.push_back({"output", proto::float32, nchw_dims<typename Net::out_shape>()});
    return b;
}

}  // namespace onnx::detail

template <class Net>
onnx::model to_onnx(const Net& net) {
    return onnx::detail::build_graph(net).m;
}

template <class Net>
void save_onnx(const Net& net, const std::filesystem::path& file) {
    onnx::write_model(file, to_onnx(net));
}

}  // namespace strata
