// Reading ONNX models into strata networks.
//   load_onnx(file, net)  checks that the file's graph is net's, node by node
//                         (the first difference named: node index, operator,
//                         expected and found attribute or shape), then loads
//                         its weights; net is unchanged unless all of it loads.
//   onnx::describe(model) the strata::sequential<...> type matching a chain
//                         of supported operators, or the operators it cannot map.
// Both accept what save_onnx writes and what torch.onnx.export writes for
// the same network: Dropout and Identity nodes are skipped, Constant nodes
// are read as initializers, and a Flatten straight after NCHW features (the
// channel-first order of PyTorch) is accepted in place of strata's
// Transpose(0, 2, 3, 1) + Flatten by permuting the next Gemm's weights into
// strata's channels-last order.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "codec.hpp"
#include "export.hpp"
#include "proto.hpp"

namespace strata {

template <class Net>
void load_onnx(const std::filesystem::path& file, Net& net);
// The same from a model already read; where names it in errors ("file: ").
template <class Net>
void load_onnx(const onnx::model& m, Net& net, const std::string& where);

namespace onnx {

struct description {
    std::string type;                      // empty when some operator cannot be mapped
    std::vector<std::string> unsupported;  // "node 3 (Reshape): ..." for each
};
// where names the source in errors ("model.onnx: ").
inline description describe(const model& m, const std::string& where = "");

namespace detail {

inline std::string ints_text(const std::vector<std::int64_t>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

// The file's graph as strata reads it: nodes without Constant, Dropout and
// Identity (their outputs renamed to what they pass on), and every constant
// tensor by name.
struct graph_view {
    std::vector<const node*> nodes;
    std::vector<std::vector<std::string>> inputs;  // each node's inputs, aliases resolved
    std::map<std::string, const tensor*> tensors;
    std::string input;  // the graph input that is not an initializer
    std::vector<std::int64_t> input_dims;

    graph_view(const model& m, const std::string& where) {
        for (const auto& t : m.initializers) tensors[t.name] = &t;
        std::map<std::string, std::string> alias;
        auto resolve = [&](const std::string& name) {
            auto it = alias.find(name);
            return it == alias.end() ? name : it->second;
        };
        for (std::size_t i = 0; i < m.nodes.size(); ++i) {
            const node& n = m.nodes[i];
            if (!n.domain.empty() && n.domain != "ai.onnx")
                throw data_error(where + "node " + std::to_string(i) + " (" + n.op_type + ") is in domain " +
                                 n.domain + ", not ONNX's");
            if (n.op_type == "Constant") {
                const attribute* value = n.find("value");
                if (n.outputs.size() != 1 || !value || value->t.size() != 1)
                    throw data_error(where + "node " + std::to_string(i) + " (Constant) has no tensor value");
                tensors[n.outputs[0]] = &value->t[0];
                continue;
            }
            if (n.op_type == "Dropout" || n.op_type == "Identity") {
                if (n.inputs.empty() || n.outputs.empty())
                    throw data_error(where + "node " + std::to_string(i) + " (" + n.op_type +
                                     ") has no input or output");
                alias[n.outputs[0]] = resolve(n.inputs[0]);
                continue;
            }
            nodes.push_back(&n);
            std::vector<std::string> in;
            for (const auto& x : n.inputs) in.push_back(resolve(x));
            inputs.push_back(std::move(in));
        }
        for (const auto& v : m.inputs)
            if (!tensors.count(v.name)) {
                input = v.name;
                input_dims = v.dims;
                break;
            }
        if (input.empty()) throw data_error(where + "the graph has no input");
    }
    const tensor* constant(const std::string& name) const {
        auto it = tensors.find(name);
        return it == tensors.end() ? nullptr : it->second;
    }
};

// An attribute's ints, or the operator's default when absent.
inline std::vector<std::int64_t> ints_or(const node& n, const char* name,
                                         std::vector<std::int64_t> fallback) {
    const attribute* a = n.find(name);
    return a ? a->ints : fallback;
}
inline std::int64_t int_or(const node& n, const char* name, std::int64_t fallback) {
    const attribute* a = n.find(name);
    return a ? a->i : fallback;
}
inline float float_or(const node& n, const char* name, float fallback) {
    const attribute* a = n.find(name);
    return a ? a->f : fallback;
}
inline std::string string_or(const node& n, const char* name, std::string fallback) {
    const attribute* a = n.find(name);
    return a ? a->s : fallback;
}

// Where two nodes of the same operator differ in an attribute strata reads
// (defaults filled in as ONNX states them); empty when they agree.
inline std::string attribute_difference(const node& e, const node& f) {
    const std::string& op = e.op_type;
    auto ints = [&](const char* name, std::vector<std::int64_t> fallback) -> std::string {
        const auto a = ints_or(e, name, fallback), b = ints_or(f, name, fallback);
        return a == b ? "" : std::string(name) + " " + ints_text(a) + " expected, " + ints_text(b) + " found";
    };
    auto one = [&](const char* name, std::int64_t fallback) -> std::string {
        const auto a = int_or(e, name, fallback), b = int_or(f, name, fallback);
        return a == b ? ""
                      : std::string(name) + " " + std::to_string(a) + " expected, " + std::to_string(b) +
                            " found";
    };
    auto real = [&](const char* name, float fallback, const char* advice) -> std::string {
        const float a = float_or(e, name, fallback), b = float_or(f, name, fallback);
        return std::abs(a - b) <= 1e-6f * std::max(std::abs(a), 1.0f)
                   ? ""
                   : std::string(name) + " " + std::to_string(a) + " expected, " + std::to_string(b) +
                         " found" + advice;
    };
    std::string d;
    auto check = [&](std::string s) {
        if (d.empty()) d = std::move(s);
    };
    if (string_or(f, "auto_pad", "NOTSET") != "NOTSET")
        return "auto_pad " + string_or(f, "auto_pad", "") + " (strata reads explicit pads)";
    if (op == "Conv" || op == "ConvTranspose" || op == "MaxPool" || op == "AveragePool") {
        check(ints("kernel_shape", {}));
        check(ints("strides", {1, 1}));
        check(ints("pads", {0, 0, 0, 0}));
        check(ints("dilations", {1, 1}));
        check(one("group", 1));
        check(ints("output_padding", {0, 0}));
        check(one("ceil_mode", 0));
    } else if (op == "Gemm") {
        check(one("transA", 0));
        check(real("alpha", 1, ""));
        check(real("beta", 1, ""));
    } else if (op == "BatchNormalization") {
        check(real("epsilon", 1e-5f, " (set the network's batch_norm epsilon with set_epsilon first)"));
    } else if (op == "LeakyRelu") {
        check(real("alpha", 0.01f, ""));
    } else if (op == "Elu") {
        check(real("alpha", 1, ""));
    } else if (op == "Flatten" || op == "Concat" || op == "Softmax") {
        check(one("axis", op == "Softmax" ? -1 : 1));
    } else if (op == "Transpose") {
        check(ints("perm", {}));
    } else if (op == "Pad") {
        if (string_or(e, "mode", "constant") != string_or(f, "mode", "constant"))
            check("mode " + string_or(f, "mode", "constant") + " found, constant expected");
    } else if (op == "Resize") {
        const auto mode = string_or(f, "mode", "nearest");
        if (string_or(e, "mode", "nearest") != mode)
            check("mode " + mode + " found, " + string_or(e, "mode", "nearest") + " expected");
        auto ctm = string_or(f, "coordinate_transformation_mode", "half_pixel");
        if (ctm == "pytorch_half_pixel") ctm = "half_pixel";  // the same but for outputs of one pixel
        if (mode == "nearest" && string_or(f, "nearest_mode", "round_prefer_floor") != "floor")
            check("nearest_mode " + string_or(f, "nearest_mode", "round_prefer_floor") +
                  " found, floor expected");
        if (ctm != string_or(e, "coordinate_transformation_mode", "half_pixel"))
            check("coordinate_transformation_mode " + ctm + " found, " +
                  string_or(e, "coordinate_transformation_mode", "") + " expected");
    }
    return d;
}

// A constant input compared by value (pads, scales, slice bounds).
inline bool same_values(const tensor& a, const tensor& b) {
    if (a.dims != b.dims && !(a.dims.size() <= 1 && b.dims.size() <= 1)) return false;
    return a.data_type == b.data_type && a.floats == b.floats && a.ints == b.ints;
}

}  // namespace detail

// The shortest decimal that reads back as the same float.
inline std::string real_text(float v) {
    for (int digits = 1; digits < 10; ++digits) {
        char text[32];
        std::snprintf(text, sizeof text, "%.*g", digits, double(v));
        if (std::strtof(text, nullptr) == v)
            return std::string(text).find_first_of(".e") == std::string::npos ? std::string(text) + ".0"
                                                                              : text;
    }
    return std::to_string(v);
}

inline constexpr std::int64_t max_extent = std::int64_t{1} << 24;

// The layers strata would build for a chain of operators, tracking the
// (C, H, W) or (features) shape to tell "same" padding from "valid".
inline description describe(const model& m, const std::string& where) {
    using namespace detail;
    description out;
    const graph_view g(m, where);
    std::vector<std::string> layers;
    std::vector<std::int64_t> shape(g.input_dims.begin() + (g.input_dims.empty() ? 0 : 1),
                                    g.input_dims.end());
    auto bad = [&](std::size_t i, const std::string& why) {
        out.unsupported.push_back("node " + std::to_string(i) + " (" + g.nodes[i]->op_type + "): " + why);
    };
    if (shape.size() == 3)
        layers.push_back("strata::input<" + std::to_string(shape[1]) + ", " + std::to_string(shape[2]) +
                         ", " + std::to_string(shape[0]) + ">");
    else if (shape.size() == 1)
        layers.push_back("strata::input<" + std::to_string(shape[0]) + ">");
    else
        out.unsupported.push_back("graph input " + g.input + " is " + ints_text(g.input_dims) +
                                  ", neither (N, C, H, W) nor (N, features)");
    for (auto d : shape)
        if (d <= 0 || d > max_extent) {
            out.unsupported.push_back("graph input " + g.input + " has an unknown size " +
                                      ints_text(g.input_dims));
            shape.clear();
            break;
        }
    std::string current = g.input;
    std::optional<std::size_t> channel_first;  // a plain Flatten of NCHW features, until a Gemm
    // The activation node i is, if it is one; fused when it takes `from`.
    auto activation_of = [&](std::size_t i, std::string& act, const std::string* from) {
        if (i >= g.nodes.size() || g.inputs[i].empty() || g.nodes[i]->outputs.empty() ||
            (from && g.inputs[i][0] != *from))
            return false;
        const node& n = *g.nodes[i];
        const std::string& op = n.op_type;
        if (op == "Relu")
            act = "strata::relu";
        else if (op == "Sigmoid")
            act = "strata::sigmoid";
        else if (op == "Tanh")
            act = "strata::tanh";
        else if (op == "Softmax" &&
                 (int_or(n, "axis", -1) == 1 || (shape.size() == 1 && int_or(n, "axis", -1) == -1)))
            act = "strata::softmax";
        else if (op == "LeakyRelu")
            act = float_or(n, "alpha", 0.01f) == 0.01f
                      ? "strata::leaky_relu"
                      : "strata::basic_leaky_relu<" + real_text(float_or(n, "alpha", 0.01f)) + ">";
        else if (op == "Elu")
            act = float_or(n, "alpha", 1) == 1.0f
                      ? "strata::elu"
                      : "strata::basic_elu<" + real_text(float_or(n, "alpha", 1)) + ">";
        else
            return false;
        return true;
    };
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
        const node& n = *g.nodes[i];
        const std::string& op = n.op_type;
        if (g.inputs[i].empty() || g.inputs[i][0] != current || n.outputs.empty()) {
            bad(i,
                "its input is not the previous node's output (strata-onnx maps chains of operators; residual "
                "and concat graphs load with load_onnx into a type you write)");
            break;
        }
        if (shape.empty()) break;
        // Sizes from the file stay small enough that no product overflows.
        bool sane = true;
        for (const auto& a : n.attributes)
            for (auto v : a.ints) sane = sane && v >= -max_extent && v <= max_extent;
        std::int64_t total = 1;
        for (auto d : shape) {
            sane = sane && d >= 0 && d <= max_extent;
            total = sane ? total * d : total;
            sane = sane && total <= max_extent;
        }
        if (!sane) {
            bad(i, "sizes beyond " + std::to_string(max_extent));
            break;
        }
        current = n.outputs[0];
        const bool image = shape.size() == 3;
        std::string act;
        if (channel_first && op != "Gemm" && op != "Relu" && op != "Sigmoid" && op != "Tanh" &&
            op != "LeakyRelu" && op != "Elu") {
            bad(*channel_first,
                "a Flatten of NCHW features must be followed by Gemm (strata flattens channels-last)");
            break;
        }
        if (op == "Gemm") channel_first.reset();
        if (op == "Conv" || op == "ConvTranspose") {
            const tensor* w = g.inputs[i].size() > 1 ? g.constant(g.inputs[i][1]) : nullptr;
            const auto k =
                ints_or(n, "kernel_shape",
                        w && w->dims.size() == 4 ? std::vector<std::int64_t>{w->dims[2], w->dims[3]}
                                                 : std::vector<std::int64_t>{});
            const auto st = ints_or(n, "strides", {1, 1});
            const auto pads = ints_or(n, "pads", {0, 0, 0, 0});
            const auto group = int_or(n, "group", 1);
            if (!image || !w || w->dims.size() != 4 || k.size() != 2 || k[0] != k[1] || st.size() != 2 ||
                st[0] != st[1] || pads.size() != 4 ||
                ints_or(n, "dilations", {1, 1}) != std::vector<std::int64_t>{1, 1} || st[0] <= 0 ||
                k[0] <= 0) {
                bad(i, "needs a 4-D constant weight, square kernel and stride, no dilation");
                break;
            }
            const std::int64_t K = k[0], S = st[0], C = shape[0];
            std::int64_t H = shape[1], W = shape[2];
            const bool bias = g.inputs[i].size() > 2 && !g.inputs[i][2].empty();
            std::string spec;
            std::vector<std::string> options;
            if (op == "Conv") {
                const std::int64_t F = w->dims[0];
                auto axis = [&](std::int64_t in, std::int64_t& o, std::int64_t& before, std::int64_t& total) {
                    o = (in + S - 1) / S;
                    total = std::max<std::int64_t>((o - 1) * S + K - in, 0);
                    before = total / 2;
                };
                std::int64_t oh, ow, bh, bw, th, tw;
                axis(H, oh, bh, th);
                axis(W, ow, bw, tw);
                const bool valid = pads == std::vector<std::int64_t>{0, 0, 0, 0};
                const bool same = pads == std::vector<std::int64_t>{bh, bw, th - bh, tw - bw};
                const bool symmetric = pads[0] == pads[1] && pads[1] == pads[2] && pads[2] == pads[3];
                if (!valid && !same && symmetric) {
                    layers.push_back("strata::zero_padding<" + std::to_string(pads[0]) + ">");
                    H += 2 * pads[0];
                    W += 2 * pads[0];
                } else if (!valid && !same) {
                    bad(i, "pads " + ints_text(pads) + " are neither valid, same nor symmetric");
                    break;
                }
                if (same && !valid) {
                    options.push_back("strata::same");
                } else {
                    oh = H >= K ? (H - K) / S + 1 : 0;
                    ow = W >= K ? (W - K) / S + 1 : 0;
                }
                if (group == 1 && w->dims[1] == C) {
                    spec = "strata::conv2d<" + std::to_string(F) + ", " + std::to_string(K);
                } else if (group == C && w->dims[1] == 1 && F % C == 0) {
                    spec = "strata::depthwise_conv2d<" + std::to_string(K) + ", " + std::to_string(F / C);
                } else {
                    bad(i, "group " + std::to_string(group) + " is neither 1 nor depthwise");
                    break;
                }
                shape = {F, oh, ow};
            } else {
                const std::int64_t F = w->dims[1];
                const auto op_pad = ints_or(n, "output_padding", {0, 0});
                if (group != 1 || w->dims[0] != C || op_pad.size() != 2) {
                    bad(i, "needs group 1");
                    break;
                }
                std::int64_t oh = (H - 1) * S + K - pads[0] - pads[2] + op_pad[0];
                std::int64_t ow = (W - 1) * S + K - pads[1] - pads[3] + op_pad[1];
                // save_onnx's odd "same": symmetric pads, then a Slice drops the last row and column.
                bool sliced = false;
                if (i + 1 < g.nodes.size() && g.nodes[i + 1]->op_type == "Slice" &&
                    g.inputs[i + 1].size() >= 4 && g.inputs[i + 1][0] == current &&
                    !g.nodes[i + 1]->outputs.empty()) {
                    const auto& in = g.inputs[i + 1];
                    const tensor *starts = g.constant(in[1]), *ends = g.constant(in[2]),
                                 *axes = g.constant(in[3]);
                    if (in.size() == 4 && starts && ends && axes &&
                        starts->ints == std::vector<std::int64_t>{0, 0} &&
                        axes->ints == std::vector<std::int64_t>{2, 3} && ends->ints.size() == 2 &&
                        ends->ints[0] > 0 && ends->ints[0] <= oh && ends->ints[1] > 0 &&
                        ends->ints[1] <= ow) {
                        oh = ends->ints[0];
                        ow = ends->ints[1];
                        current = g.nodes[++i]->outputs[0];
                        sliced = true;
                    }
                }
                // strata's "same" is TensorFlow's: (K - S) / 2 cropped first, H S kept.
                if (!sliced && pads == std::vector<std::int64_t>{0, 0, 0, 0} &&
                    op_pad == std::vector<std::int64_t>{0, 0}) {
                } else if (oh == H * S && ow == W * S && K >= S && pads[0] == (K - S) / 2 &&
                           pads[1] == pads[0]) {
                    options.push_back("strata::same");
                } else {
                    bad(i, "pads " + ints_text(pads) + " are neither valid nor same");
                    break;
                }
                spec = "strata::conv2d_transpose<" + std::to_string(F) + ", " + std::to_string(K);
                shape = {F, oh, ow};
            }
            if (S != 1) options.insert(options.begin(), "strata::stride<" + std::to_string(S) + ">");
            if (!bias) options.push_back("strata::no_bias");
            if (activation_of(i + 1, act, &current)) current = g.nodes[++i]->outputs[0];
            if (!act.empty()) spec += ", " + act;
            for (const auto& o : options) spec += ", " + o;
            layers.push_back(spec + ">");
        } else if (op == "Gemm") {
            const tensor* w = g.inputs[i].size() > 1 ? g.constant(g.inputs[i][1]) : nullptr;
            if (image || !w || w->dims.size() != 2 || int_or(n, "transA", 0) != 0 ||
                float_or(n, "alpha", 1) != 1 || float_or(n, "beta", 1) != 1) {
                bad(i, "needs a flat input, a constant 2-D B, no transA, alpha = beta = 1");
                break;
            }
            const std::int64_t units = int_or(n, "transB", 0) ? w->dims[0] : w->dims[1];
            std::string spec = "strata::dense<" + std::to_string(units);
            if (activation_of(i + 1, act, &current)) current = g.nodes[++i]->outputs[0];
            if (!act.empty()) spec += ", " + act;
            if (g.inputs[&n == g.nodes[i] ? i : i - 1].size() <= 2) spec += ", strata::no_bias";
            layers.push_back(spec + ">");
            shape = {units};
        } else if (op == "MaxPool" || op == "AveragePool") {
            const auto k = ints_or(n, "kernel_shape", {});
            const auto st = ints_or(n, "strides", {1, 1});
            if (!image || k.size() != 2 || k[0] != k[1] || st.size() != 2 || st[0] != st[1] || k[0] <= 0 ||
                st[0] <= 0 || ints_or(n, "pads", {0, 0, 0, 0}) != std::vector<std::int64_t>{0, 0, 0, 0} ||
                int_or(n, "ceil_mode", 0) != 0 || k[0] > shape[1] || k[0] > shape[2]) {
                bad(i, "needs a square window and stride, no padding, no ceil_mode");
                break;
            }
            layers.push_back(std::string(op == "MaxPool" ? "strata::max_pool<" : "strata::avg_pool<") +
                             std::to_string(k[0]) + (st[0] != k[0] ? ", " + std::to_string(st[0]) : "") +
                             ">");
            shape = {shape[0], (shape[1] - k[0]) / st[0] + 1, (shape[2] - k[0]) / st[0] + 1};
        } else if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
            const bool flat = i + 1 < g.nodes.size() && g.nodes[i + 1]->op_type == "Flatten" &&
                              !g.inputs[i + 1].empty() && g.inputs[i + 1][0] == current;
            if (!image || !flat) {
                bad(i, "strata's global pools give (C): needs a Flatten after it");
                break;
            }
            current = g.nodes[++i]->outputs.empty() ? "" : g.nodes[i]->outputs[0];
            layers.push_back(op == "GlobalAveragePool" ? "strata::global_avg_pool"
                                                       : "strata::global_max_pool");
            shape = {shape[0]};
        } else if (op == "Transpose" || op == "Flatten") {
            if (op == "Transpose") {
                const bool flat = i + 1 < g.nodes.size() && g.nodes[i + 1]->op_type == "Flatten" &&
                                  !g.inputs[i + 1].empty() && g.inputs[i + 1][0] == current &&
                                  int_or(*g.nodes[i + 1], "axis", 1) == 1;
                if (!image || ints_or(n, "perm", {}) != std::vector<std::int64_t>{0, 2, 3, 1} || !flat) {
                    bad(i, "only Transpose(0, 2, 3, 1) before a Flatten (strata's channels-last flatten)");
                    break;
                }
                current = g.nodes[++i]->outputs.empty() ? "" : g.nodes[i]->outputs[0];
            } else if (int_or(n, "axis", 1) != 1) {
                bad(i, "axis other than 1");
                break;
            } else if (image && shape[1] * shape[2] > 1) {
                channel_first = i;  // loads by permuting the next Gemm's weights
            }
            layers.push_back("strata::flatten");
            shape = {shape.size() == 3 ? shape[0] * shape[1] * shape[2] : shape[0]};
        } else if (op == "BatchNormalization") {
            layers.push_back("strata::batch_norm");
        } else if (op == "Pad") {
            const tensor* p = g.inputs[i].size() > 1 ? g.constant(g.inputs[i][1]) : nullptr;
            const bool zero =
                g.inputs[i].size() < 3 || g.inputs[i][2].empty() ||
                (g.constant(g.inputs[i][2]) && g.constant(g.inputs[i][2])->floats == std::vector<float>{0});
            if (!image || !p || p->ints.size() != 8 || string_or(n, "mode", "constant") != "constant" ||
                !zero || p->ints[0] || p->ints[1] || p->ints[4] || p->ints[5] || p->ints[2] != p->ints[3] ||
                p->ints[3] != p->ints[6] || p->ints[6] != p->ints[7] || p->ints[2] < 0 ||
                p->ints[2] > max_extent) {
                bad(i, "only the same zero padding on every side of H and W");
                break;
            }
            layers.push_back("strata::zero_padding<" + std::to_string(p->ints[2]) + ">");
            shape = {shape[0], shape[1] + 2 * p->ints[2], shape[2] + 2 * p->ints[2]};
        } else if (op == "Resize") {
            const tensor* sc = g.inputs[i].size() > 2 ? g.constant(g.inputs[i][2]) : nullptr;
            const auto mode = string_or(n, "mode", "nearest");
            if (!image || !sc || sc->floats.size() != 4 || sc->floats[0] != 1 || sc->floats[1] != 1 ||
                sc->floats[2] != sc->floats[3] || sc->floats[2] < 1 ||
                sc->floats[2] != std::floor(sc->floats[2]) || sc->floats[2] > 1024 ||
                (mode != "nearest" && mode != "linear")) {
                bad(i, "only constant integer scales (1, 1, s, s), nearest or linear");
                break;
            }
            const auto f = std::int64_t(sc->floats[2]);
            layers.push_back("strata::upsample<" + std::to_string(f) +
                             (mode == "linear" ? ", strata::bilinear>" : ">"));
            shape = {shape[0], shape[1] * f, shape[2] * f};
        } else if (activation_of(i, act, nullptr)) {
            layers.push_back(act);
        } else {
            bad(i, "no strata layer for this operator");
        }
    }
    if (channel_first && out.unsupported.empty())
        bad(*channel_first,
            "a Flatten of NCHW features must be followed by Gemm (strata flattens channels-last)");
    if (out.unsupported.empty()) {
        out.type = "strata::sequential<";
        for (std::size_t k = 0; k < layers.size(); ++k) out.type += (k ? ", " : "") + layers[k];
        out.type += ">";
    }
    return out;
}

}  // namespace onnx

template <class Net>
void load_onnx(const onnx::model& file_model, Net& net, const std::string& where) {
    using namespace onnx;
    using namespace onnx::detail;
    using T = typename Net::scalar_type;
    const auto built = build_graph(static_cast<const Net&>(net));
    const model& expected = built.m;
    const graph_view file(file_model, where);
    if (file_model.opset != 0 && file_model.opset < 11)
        throw data_error(where + "opset " + std::to_string(file_model.opset) +
                         " (strata reads 11 and later)");

    // Input: the same sample shape, any batch.
    const auto& want = expected.inputs[0].dims;
    if (file.input_dims.size() != want.size() ||
        !std::equal(want.begin() + 1, want.end(), file.input_dims.begin() + 1))
        throw data_error(where + "the graph input " + file.input + " is " + ints_text(file.input_dims) +
                         ", this network takes " + ints_text(want) + " (N, C, H, W)");

    std::map<std::string, std::string> value;  // expected value -> the file's
    value["input"] = file.input;
    struct load {
        const binding* b;
        const tensor* t;
        bool transposed = false;                         // a Gemm's B as (in, out)
        std::optional<std::array<std::int64_t, 3>> chw;  // a Gemm after a channel-first Flatten
    };
    std::vector<load> loads;
    std::map<std::string, const binding*> binding_of;
    for (const auto& b : built.bindings) binding_of[b.initializer] = &b;
    std::optional<std::array<std::int64_t, 3>> channel_first;  // set by a plain Flatten of NCHW features

    std::size_t j = 0;
    for (std::size_t i = 0; i < expected.nodes.size(); ++i) {
        const node& e = expected.nodes[i];
        const std::string at = where + "node " + std::to_string(j) + " (expected " + e.op_type + " for " +
                               e.name.substr(0, e.name.find('/')) + "): ";
        if (j >= file.nodes.size()) throw data_error(at + "the file's graph ends here");
        const node& f = *file.nodes[j];
        const auto& f_inputs = file.inputs[j];
        if (e.op_type == "Transpose" && f.op_type == "Flatten" && i + 1 < expected.nodes.size() &&
            expected.nodes[i + 1].op_type == "Flatten") {
            for (const auto& [name, dims] : built.flattened)
                if (name == e.outputs[0]) channel_first = dims;
            value[e.outputs[0]] = value[e.inputs[0]];
            continue;  // the file flattens channel-first: the next Gemm's weights are permuted
        }
        if (f.op_type != e.op_type) throw data_error(at + "found " + f.op_type);
        if (f_inputs.size() < e.inputs.size() || f.outputs.empty())
            throw data_error(at + "found " + std::to_string(f_inputs.size()) + " inputs, expected " +
                             std::to_string(e.inputs.size()));
        if (const auto d = attribute_difference(e, f); !d.empty()) throw data_error(at + d);
        bool transposed = false;
        if (e.op_type == "Gemm") transposed = int_or(f, "transB", 0) == 0;
        for (std::size_t k = 0; k < e.inputs.size(); ++k) {
            const std::string& x = e.inputs[k];
            if (x.empty()) continue;  // Resize's roi
            if (auto b = binding_of.find(x); b != binding_of.end()) {
                const tensor* t = file.constant(f_inputs[k]);
                const tensor& et = *std::find_if(expected.initializers.begin(), expected.initializers.end(),
                                                 [&](const tensor& c) { return c.name == x; });
                if (!t)
                    throw data_error(at + "input " + std::to_string(k) + " (" + f_inputs[k] +
                                     ") is not a constant");
                auto dims = t->dims;
                if (transposed && k == 1 && dims.size() == 2) std::swap(dims[0], dims[1]);
                if (t->data_type != proto::float32 || dims != et.dims)
                    throw data_error(at + "tensor " + t->name + " is " + ints_text(t->dims) +
                                     (t->data_type != proto::float32 ? " (not float32)" : "") +
                                     ", expected " + ints_text(et.dims) + " for " + x);
                loads.push_back({b->second, t, transposed && k == 1,
                                 e.op_type == "Gemm" && k == 1 ? channel_first : std::nullopt});
                continue;
            }
            if (const tensor* et = [&]() -> const tensor* {
                    for (const auto& c : expected.initializers)
                        if (c.name == x) return &c;
                    return nullptr;
                }()) {
                const tensor* t = file.constant(f_inputs[k]);
                if (!t || !same_values(*et, *t))
                    throw data_error(at + "input " + std::to_string(k) + " (" + f_inputs[k] +
                                     ") differs from " + x);
                continue;
            }
            if (value[x] != f_inputs[k])
                throw data_error(at + "input " + std::to_string(k) + " is " + f_inputs[k] +
                                 ", expected the output of " + (value.count(x) ? value[x] : x));
        }
        if (e.op_type == "Gemm")
            channel_first.reset();
        else if (channel_first && e.op_type != "Flatten" && e.op_type != "Relu" && e.op_type != "Sigmoid" &&
                 e.op_type != "Tanh" && e.op_type != "LeakyRelu" && e.op_type != "Elu")
            throw data_error(
                at + "a Flatten of NCHW features must be followed by Gemm (strata flattens channels-last)");
        value[e.outputs[0]] = f.outputs[0];
        ++j;
    }
    if (j < file.nodes.size())
        throw data_error(where + "node " + std::to_string(j) + " (" + file.nodes[j]->op_type +
                         "): the network ends before it");

    // Every tensor checked before any is applied.
    std::vector<T> params(net.parameters().begin(), net.parameters().end()),
        state(net.state().begin(), net.state().end());
    for (const auto& l : loads) {
        const std::size_t count = l.b->index.size();
        const auto& dims = l.t->dims;
        std::vector<float> v(count);
        for (std::size_t k = 0; k < count; ++k) {
            std::size_t src = k;
            if (dims.size() == 2) {
                // expected (out, in) position k -> the file's
                const std::size_t rows = std::size_t(l.transposed ? dims[1] : dims[0]), cols = count / rows;
                std::size_t u = k / cols, c = k % cols;
                if (l.chw) {
                    const auto [ch, h, w] = *l.chw;
                    const std::size_t hw = std::size_t(h * w);
                    c = (c % std::size_t(ch)) * hw + c / std::size_t(ch);
                    (void)w;
                }
                src = l.transposed ? c * rows + u : u * cols + c;
            }
            v[k] = l.t->floats[src];
            if (!std::isfinite(v[k]))
                throw data_error(where + "tensor " + l.t->name + " has a non-finite value");
        }
        T* dst = (l.b->trainable ? params.data() : state.data()) + l.b->offset;
        for (std::size_t k = 0; k < count; ++k) dst[l.b->index[k]] = static_cast<T>(v[k]);
    }
    std::copy(params.begin(), params.end(), net.parameters().begin());
    std::copy(state.begin(), state.end(), net.state().begin());
}

template <class Net>
void load_onnx(const std::filesystem::path& file, Net& net) {
    load_onnx(onnx::read_model(file), net, file.string() + ": ");
}

}  // namespace strata
