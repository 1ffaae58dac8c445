// The ONNX protobuf field numbers strata reads and writes (onnx.proto, IR
// version 7, opset 13), named as in the .proto file, and the in-memory model
// they describe: a flat graph of nodes, initializers and typed inputs/outputs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata::onnx {

inline constexpr std::int64_t ir_version = 7;  // the IR version of opset 13
inline constexpr std::int64_t opset = 13;

namespace proto {
enum model : std::uint32_t {
    model_ir_version = 1,
    model_producer_name = 2,
    model_producer_version = 3,
    model_graph = 7,
    model_opset_import = 8
};
enum opset_id : std::uint32_t { opset_domain = 1, opset_version = 2 };
enum graph : std::uint32_t {
    graph_node = 1,
    graph_name = 2,
    graph_initializer = 5,
    graph_input = 11,
    graph_output = 12
};
enum node : std::uint32_t {
    node_input = 1,
    node_output = 2,
    node_name = 3,
    node_op_type = 4,
    node_attribute = 5,
    node_domain = 7
};
enum attribute : std::uint32_t {
    attribute_name = 1,
    attribute_f = 2,
    attribute_i = 3,
    attribute_s = 4,
    attribute_t = 5,
    attribute_floats = 7,
    attribute_ints = 8,
    attribute_type = 20
};
enum attribute_type : std::int32_t {
    type_float = 1,
    type_int = 2,
    type_string = 3,
    type_tensor = 4,
    type_floats = 6,
    type_ints = 7
};
enum value_info : std::uint32_t { value_info_name = 1, value_info_type = 2 };
enum type : std::uint32_t { type_tensor_type = 1 };
enum tensor_type : std::uint32_t { tensor_type_elem_type = 1, tensor_type_shape = 2 };
enum shape : std::uint32_t { shape_dim = 1 };
enum dimension : std::uint32_t { dimension_value = 1, dimension_param = 2 };
enum tensor : std::uint32_t {
    tensor_dims = 1,
    tensor_data_type = 2,
    tensor_float_data = 4,
    tensor_int32_data = 5,
    tensor_int64_data = 7,
    tensor_name = 8,
    tensor_raw_data = 9,
    tensor_data_location = 14
};
enum data_type : std::int32_t { float32 = 1, int32 = 6, int64 = 7 };
}  // namespace proto

// A tensor's values as floats or int64s (the two element types strata's
// operators use); dims are ONNX's (NCHW for images).
struct tensor {
    std::string name;
    std::int32_t data_type = proto::float32;
    std::vector<std::int64_t> dims;
    std::vector<float> floats;
    std::vector<std::int64_t> ints;
};

struct attribute {
    std::string name;
    std::int32_t type = 0;
    float f = 0;
    std::int64_t i = 0;
    std::string s;
    std::vector<float> floats;
    std::vector<std::int64_t> ints;
    std::vector<tensor> t;  // one tensor for a TENSOR attribute
};

struct node {
    std::string op_type, name, domain;
    std::vector<std::string> inputs, outputs;
    std::vector<attribute> attributes;

    const attribute* find(std::string_view attribute_name) const {
        for (const auto& a : attributes)
            if (a.name == attribute_name) return &a;
        return nullptr;
    }
};

// A graph input or output: element type and dims, -1 for a named (symbolic) dim.
struct value_info {
    std::string name;
    std::int32_t elem_type = proto::float32;
    std::vector<std::int64_t> dims;
};

struct model {
    std::int64_t ir_version = onnx::ir_version;
    std::int64_t opset = 0;  // of the default domain; 0 when the file names none
    std::string producer_name, producer_version, graph_name;
    std::vector<node> nodes;
    std::vector<tensor> initializers;
    std::vector<value_info> inputs, outputs;
};

}  // namespace strata::onnx
