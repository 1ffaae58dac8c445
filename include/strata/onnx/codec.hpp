// ONNX models to bytes and back with protozero (Debian's libprotozero-dev, a
// header-only protobuf reader and writer). The reader checks every field's
// wire type and every length and count against the tensor's dims, so a
// truncated or corrupt file is a data_error naming the file and what was
// being read, never a crash; protozero's own exceptions become data_error too.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <protozero/exception.hpp>
#include <protozero/pbf_reader.hpp>
#include <protozero/pbf_writer.hpp>

#include "../core/error.hpp"
#include "../data/npy.hpp"
#include "proto.hpp"

namespace strata::onnx {

std::string encode(const model& m);
// where: how errors name the source, e.g. "model.onnx: ".
model decode(std::string_view bytes, const std::string& where);
model read_model(const std::filesystem::path& file);
void write_model(const std::filesystem::path& file, const model& m);  // atomic

inline constexpr std::uintmax_t max_model_bytes = std::uintmax_t{2} << 30;  // protobuf's own limit
inline constexpr std::uint64_t max_tensor_values = std::uint64_t{1} << 29;

namespace detail {

static_assert(std::endian::native == std::endian::little, "ONNX raw_data is little-endian");

inline void write_tensor(protozero::pbf_writer& w, const tensor& t) {
    w.add_packed_int64(proto::tensor_dims, t.dims.begin(), t.dims.end());
    w.add_int32(proto::tensor_data_type, t.data_type);
    w.add_string(proto::tensor_name, t.name);
    if (t.data_type == proto::float32)
        w.add_bytes(proto::tensor_raw_data, reinterpret_cast<const char*>(t.floats.data()),
                    t.floats.size() * sizeof(float));
    else
        w.add_bytes(proto::tensor_raw_data, reinterpret_cast<const char*>(t.ints.data()),
                    t.ints.size() * sizeof(std::int64_t));
}

inline void write_value_info(protozero::pbf_writer& w, const value_info& v) {
    w.add_string(proto::value_info_name, v.name);
    protozero::pbf_writer type{w, proto::value_info_type};
    protozero::pbf_writer tensor_type{type, proto::type_tensor_type};
    tensor_type.add_int32(proto::tensor_type_elem_type, v.elem_type);
    protozero::pbf_writer shape{tensor_type, proto::tensor_type_shape};
    for (auto d : v.dims) {
        protozero::pbf_writer dim{shape, proto::shape_dim};
        if (d < 0)
            dim.add_string(proto::dimension_param, "N");
        else
            dim.add_int64(proto::dimension_value, d);
    }
}

// What a reader of one message knows: where it is, to name it in errors.
struct reading {
    const std::string& where;
    std::string what;
    [[noreturn]] void fail(const std::string& why) const { throw data_error(where + what + ": " + why); }
    // Runs f, naming this message when protozero finds the bytes malformed.
    template <class F>
    auto guard(F&& f) const {
        try {
            return f();
        } catch (const protozero::end_of_buffer_exception&) {
            fail("a length runs past the end of the data (a truncated file?)");
        } catch (const protozero::exception& e) {
            fail(std::string("malformed protobuf (") + e.what() + ")");
        }
    }
};

inline void expect_wire(const protozero::pbf_reader& r, protozero::pbf_wire_type type, const reading& at) {
    if (r.wire_type() != type)
        at.fail("field " + std::to_string(r.tag()) + " has wire type " +
                std::to_string(static_cast<int>(r.wire_type())) + ", expected " +
                std::to_string(static_cast<int>(type)));
}

inline std::string read_string(protozero::pbf_reader& r, const reading& at) {
    expect_wire(r, protozero::pbf_wire_type::length_delimited, at);
    return r.get_string();
}

inline protozero::pbf_reader read_message(protozero::pbf_reader& r, const reading& at) {
    expect_wire(r, protozero::pbf_wire_type::length_delimited, at);
    return r.get_message();
}

inline std::int64_t read_int(protozero::pbf_reader& r, const reading& at) {
    expect_wire(r, protozero::pbf_wire_type::varint, at);
    return r.get_int64();
}

// A repeated int64, packed or one value per field.
inline void read_ints(protozero::pbf_reader& r, std::vector<std::int64_t>& out, const reading& at) {
    if (r.wire_type() == protozero::pbf_wire_type::length_delimited) {
        for (auto v : r.get_packed_int64()) out.push_back(v);
    } else {
        out.push_back(read_int(r, at));
    }
}

inline void read_floats(protozero::pbf_reader& r, std::vector<float>& out, const reading& at) {
    if (r.wire_type() == protozero::pbf_wire_type::length_delimited) {
        const auto view = r.get_view();
        if (view.size() % sizeof(float) != 0)
            at.fail("packed floats of " + std::to_string(view.size()) + " bytes");
        const std::size_t first = out.size();
        out.resize(first + view.size() / sizeof(float));
        if (!view.empty()) std::memcpy(out.data() + first, view.data(), view.size());
    } else {
        expect_wire(r, protozero::pbf_wire_type::fixed32, at);
        out.push_back(r.get_float());
    }
}

inline tensor read_tensor(protozero::pbf_reader r, const reading& parent) {
    tensor t;
    reading at{parent.where, parent.what + " tensor"};
    std::string_view raw;
    bool has_raw = false;
    std::vector<std::int64_t> int32s;
    at.guard([&] {
        while (r.next()) {
            switch (r.tag()) {
                case proto::tensor_dims:
                    read_ints(r, t.dims, at);
                    break;
                case proto::tensor_data_type:
                    t.data_type = static_cast<std::int32_t>(read_int(r, at));
                    break;
                case proto::tensor_float_data:
                    read_floats(r, t.floats, at);
                    break;
                case proto::tensor_int32_data:
                    read_ints(r, int32s, at);
                    break;
                case proto::tensor_int64_data:
                    read_ints(r, t.ints, at);
                    break;
                case proto::tensor_name:
                    t.name = read_string(r, at);
                    at.what = parent.what + " tensor " + t.name;
                    break;
                case proto::tensor_raw_data:
                    expect_wire(r, protozero::pbf_wire_type::length_delimited, at);
                    {
                        const auto view = r.get_view();
                        raw = std::string_view(view.data(), view.size());
                    }
                    has_raw = true;
                    break;
                case proto::tensor_data_location:
                    if (read_int(r, at) != 0) at.fail("external data is not supported");
                    break;
                default:
                    r.skip();
            }
        }
    });
    std::uint64_t count = 1;
    for (auto d : t.dims) {
        if (d < 0) at.fail("negative dimension " + std::to_string(d));
        if (d > 0 && count > max_tensor_values / static_cast<std::uint64_t>(d))
            at.fail("more than " + std::to_string(max_tensor_values) + " values");
        count *= static_cast<std::uint64_t>(d);
    }
    const bool int32 = t.data_type == proto::int32;
    if (int32) {  // widened: strata reads integer tensors as int64
        t.data_type = proto::int64;
        t.ints.insert(t.ints.end(), int32s.begin(), int32s.end());
    }
    const std::size_t element = int32                           ? 4
                                : t.data_type == proto::float32 ? 4
                                : t.data_type == proto::int64   ? 8
                                                                : 0;
    if (element == 0) return t;  // kept without values: an operator that needs them says so
    if (has_raw) {
        if (raw.size() != count * element)
            at.fail("raw_data has " + std::to_string(raw.size()) + " bytes, dims need " +
                    std::to_string(count * element));
        if (t.data_type == proto::float32) {
            t.floats.resize(count);
            if (count) std::memcpy(t.floats.data(), raw.data(), raw.size());
        } else if (int32) {
            t.ints.resize(count);
            for (std::size_t k = 0; k < count; ++k) {
                std::int32_t v;
                std::memcpy(&v, raw.data() + 4 * k, 4);
                t.ints[k] = v;
            }
        } else {
            t.ints.resize(count);
            if (count) std::memcpy(t.ints.data(), raw.data(), raw.size());
        }
    }
    // int32 tensors were widened to int64 above: their values are in ints.
    const std::size_t have = t.data_type == proto::float32 ? t.floats.size() : t.ints.size();
    if (have != count) at.fail("has " + std::to_string(have) + " values, dims need " + std::to_string(count));
    return t;
}

inline value_info read_value_info(protozero::pbf_reader r, const reading& parent) {
    value_info v;
    reading at{parent.where, parent.what};
    at.guard([&] {
        while (r.next()) {
            if (r.tag() == proto::value_info_name) {
                v.name = read_string(r, at);
                at.what = parent.what + " " + v.name;
            } else if (r.tag() == proto::value_info_type) {
                auto type = read_message(r, at);
                while (type.next()) {
                    if (type.tag() != proto::type_tensor_type) {
                        type.skip();
                        continue;
                    }
                    auto tt = read_message(type, at);
                    while (tt.next()) {
                        if (tt.tag() == proto::tensor_type_elem_type) {
                            v.elem_type = static_cast<std::int32_t>(read_int(tt, at));
                        } else if (tt.tag() == proto::tensor_type_shape) {
                            auto shape = read_message(tt, at);
                            while (shape.next()) {
                                if (shape.tag() != proto::shape_dim) {
                                    shape.skip();
                                    continue;
                                }
                                auto dim = read_message(shape, at);
                                std::int64_t value = -1;
                                while (dim.next()) {
                                    if (dim.tag() == proto::dimension_value)
                                        value = read_int(dim, at);
                                    else
                                        dim.skip();
                                }
                                v.dims.push_back(value < 0 ? -1 : value);
                            }
                        } else {
                            tt.skip();
                        }
                    }
                }
            } else {
                r.skip();
            }
        }
    });
    return v;
}

inline attribute read_attribute(protozero::pbf_reader r, const reading& parent) {
    attribute a;
    reading at{parent.where, parent.what + " attribute"};
    at.guard([&] {
        while (r.next()) {
            switch (r.tag()) {
                case proto::attribute_name:
                    a.name = read_string(r, at);
                    at.what = parent.what + " attribute " + a.name;
                    break;
                case proto::attribute_type:
                    a.type = static_cast<std::int32_t>(read_int(r, at));
                    break;
                case proto::attribute_f:
                    expect_wire(r, protozero::pbf_wire_type::fixed32, at);
                    a.f = r.get_float();
                    break;
                case proto::attribute_i:
                    a.i = read_int(r, at);
                    break;
                case proto::attribute_s:
                    a.s = read_string(r, at);
                    break;
                case proto::attribute_t:
                    a.t = {read_tensor(read_message(r, at), at)};
                    break;
                case proto::attribute_floats:
                    read_floats(r, a.floats, at);
                    break;
                case proto::attribute_ints:
                    read_ints(r, a.ints, at);
                    break;
                default:
                    r.skip();  // subgraphs and the rest: no operator strata maps has them
            }
        }
    });
    return a;
}

inline node read_node(protozero::pbf_reader r, const reading& parent) {
    node n;
    reading at{parent.where, parent.what};
    at.guard([&] {
        while (r.next()) {
            switch (r.tag()) {
                case proto::node_input:
                    n.inputs.push_back(read_string(r, at));
                    break;
                case proto::node_output:
                    n.outputs.push_back(read_string(r, at));
                    break;
                case proto::node_name:
                    n.name = read_string(r, at);
                    break;
                case proto::node_op_type:
                    n.op_type = read_string(r, at);
                    at.what = parent.what + " (" + n.op_type + ")";
                    break;
                case proto::node_domain:
                    n.domain = read_string(r, at);
                    break;
                case proto::node_attribute:
                    n.attributes.push_back(read_attribute(read_message(r, at), at));
                    break;
                default:
                    r.skip();
            }
        }
    });
    return n;
}

inline void read_graph(protozero::pbf_reader r, model& m, const std::string& where) {
    const reading graph_at{where, "graph"};
    graph_at.guard([&] {
        while (r.next()) {
            const reading at{where, "graph"};
            switch (r.tag()) {
                case proto::graph_node:
                    m.nodes.push_back(
                        read_node(read_message(r, at), {where, "node " + std::to_string(m.nodes.size())}));
                    break;
                case proto::graph_name:
                    m.graph_name = read_string(r, at);
                    break;
                case proto::graph_initializer:
                    m.initializers.push_back(
                        read_tensor(read_message(r, at),
                                    {where, "initializer " + std::to_string(m.initializers.size())}));
                    break;
                case proto::graph_input:
                    m.inputs.push_back(read_value_info(read_message(r, at), {where, "graph input"}));
                    break;
                case proto::graph_output:
                    m.outputs.push_back(read_value_info(read_message(r, at), {where, "graph output"}));
                    break;
                default:
                    r.skip();
            }
        }
    });
}

}  // namespace detail

inline std::string encode(const model& m) {
    std::string bytes;
    protozero::pbf_writer w{bytes};
    w.add_int64(proto::model_ir_version, m.ir_version);
    w.add_string(proto::model_producer_name, m.producer_name);
    w.add_string(proto::model_producer_version, m.producer_version);
    {
        protozero::pbf_writer graph{w, proto::model_graph};
        for (const auto& n : m.nodes) {
            protozero::pbf_writer nw{graph, proto::graph_node};
            for (const auto& i : n.inputs) nw.add_string(proto::node_input, i);
            for (const auto& o : n.outputs) nw.add_string(proto::node_output, o);
            nw.add_string(proto::node_name, n.name);
            nw.add_string(proto::node_op_type, n.op_type);
            for (const auto& a : n.attributes) {
                protozero::pbf_writer aw{nw, proto::node_attribute};
                aw.add_string(proto::attribute_name, a.name);
                aw.add_int32(proto::attribute_type, a.type);
                switch (a.type) {
                    case proto::type_float:
                        aw.add_float(proto::attribute_f, a.f);
                        break;
                    case proto::type_int:
                        aw.add_int64(proto::attribute_i, a.i);
                        break;
                    case proto::type_string:
                        aw.add_string(proto::attribute_s, a.s);
                        break;
                    case proto::type_floats:
                        aw.add_packed_float(proto::attribute_floats, a.floats.begin(), a.floats.end());
                        break;
                    case proto::type_ints:
                        aw.add_packed_int64(proto::attribute_ints, a.ints.begin(), a.ints.end());
                        break;
                    case proto::type_tensor: {
                        protozero::pbf_writer tw{aw, proto::attribute_t};
                        detail::write_tensor(tw, a.t.at(0));
                        break;
                    }
                    default:
                        break;
                }
            }
        }
        graph.add_string(proto::graph_name, m.graph_name);
        for (const auto& t : m.initializers) {
            protozero::pbf_writer tw{graph, proto::graph_initializer};
            detail::write_tensor(tw, t);
        }
        for (const auto& v : m.inputs) {
            protozero::pbf_writer vw{graph, proto::graph_input};
            detail::write_value_info(vw, v);
        }
        for (const auto& v : m.outputs) {
            protozero::pbf_writer vw{graph, proto::graph_output};
            detail::write_value_info(vw, v);
        }
    }
    {
        protozero::pbf_writer op{w, proto::model_opset_import};
        op.add_string(proto::opset_domain, "");
        op.add_int64(proto::opset_version, m.opset);
    }
    return bytes;
}

inline model decode(std::string_view bytes, const std::string& where) {
    model m;
    m.ir_version = 0;
    detail::reading at{where, "model"};
    at.guard([&] {
        protozero::pbf_reader r{bytes.data(), bytes.size()};
        bool has_graph = false;
        while (r.next()) {
            switch (r.tag()) {
                case proto::model_ir_version:
                    m.ir_version = detail::read_int(r, at);
                    break;
                case proto::model_producer_name:
                    m.producer_name = detail::read_string(r, at);
                    break;
                case proto::model_producer_version:
                    m.producer_version = detail::read_string(r, at);
                    break;
                case proto::model_graph:
                    if (has_graph) at.fail("two graphs");
                    has_graph = true;
                    detail::read_graph(detail::read_message(r, at), m, where);
                    break;
                case proto::model_opset_import: {
                    auto op = detail::read_message(r, at);
                    std::string domain;
                    std::int64_t version = 0;
                    while (op.next()) {
                        if (op.tag() == proto::opset_domain)
                            domain = detail::read_string(op, at);
                        else if (op.tag() == proto::opset_version)
                            version = detail::read_int(op, at);
                        else
                            op.skip();
                    }
                    if (domain.empty() || domain == "ai.onnx") m.opset = version;
                    break;
                }
                default:
                    r.skip();
            }
        }
        if (!has_graph) at.fail("no graph (not an ONNX model, or an empty file)");
    });
    return m;
}

inline model read_model(const std::filesystem::path& file) {
    const std::string where = file.string() + ": ";
    return decode(strata::detail::read_file_bytes(file, where, max_model_bytes), where);
}

inline void write_model(const std::filesystem::path& file, const model& m) {
    strata::detail::write_file_atomically(file, encode(m));
}

}  // namespace strata::onnx
