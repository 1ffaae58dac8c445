// One file per model: save(net, "model.npz") writes a NumPy .npz archive
// (numpy.load reads it) holding
//   architecture.json   the network's layers in order: path, kind, output
//                       shape and tensors (name, shape, trainable or state)
//   <path>.<name>.npy   every tensor in strata's layout, as save_weights
//                       names them (0_conv2d.weight.npy, 1_batch_norm.moving_mean.npy)
// load(net, file) checks the archive, then the architecture against net's
// (naming the first layer that differs and how), then every tensor, before
// it changes anything. The file is written to a temporary name and renamed.
// What the architecture does not record: activations and other options that
// own no tensor; two networks that differ only there load each other's files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "../data/npy.hpp"
#include "../data/zip.hpp"
#include "sequential.hpp"
#include "visit.hpp"
#include "weights.hpp"

namespace strata {

namespace detail {

inline constexpr const char* model_format = "strata-model";
inline constexpr int model_format_version = 1;

template <class Net>
nlohmann::json describe_architecture(const Net& net) {
    using T = typename Net::scalar_type;
    nlohmann::json layers = nlohmann::json::array();
    visit_layers(net, [&](const layer_path& path, const auto& layer) {
        using L = std::remove_cvref_t<decltype(layer)>;
        nlohmann::json entry{{"path", path.to_string()}, {"kind", std::string(L::name)}};
        entry["output"] = std::vector<std::size_t>(L::out_shape::dims.begin(), L::out_shape::dims.end());
        entry["tensors"] = nlohmann::json::array();
        layers.push_back(std::move(entry));
    });
    for_each_tensor(net, [&](const layer_path& path, const auto& t) {
        const std::string owner = path.to_string();
        for (auto& entry : layers)
            if (entry["path"] == owner)
                entry["tensors"].push_back(
                    {{"name", std::string(t.name)},
                     {"shape", std::vector<std::size_t>(t.dims.begin(), t.dims.begin() + t.rank)},
                     {"trainable", t.trainable}});
    });
    return {{"format", model_format},
            {"version", model_format_version},
            {"scalar", sizeof(T) == 4 ? "float32" : "float64"},
            {"input", std::vector<std::size_t>(Net::in_shape::dims.begin(), Net::in_shape::dims.end())},
            {"layers", std::move(layers)}};
}

inline std::string shape_words(const nlohmann::json& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i].get<std::size_t>());
    return s + ")";
}

// Where the file's architecture and the network's part, in words; empty if they agree.
inline std::string architecture_difference(const nlohmann::json& file, const nlohmann::json& mine) {
    if (file.at("input") != mine.at("input"))
        return "the file's network takes input " + shape_words(file.at("input")) + ", this one " +
               shape_words(mine.at("input"));
    const auto& a = file.at("layers");
    const auto& b = mine.at("layers");
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        if (i >= a.size())
            return "the file has " + std::to_string(a.size()) + " layers; this network's layer " +
                   b[i].at("path").get<std::string>() + " is not in it";
        if (i >= b.size())
            return "this network has " + std::to_string(b.size()) + " layers; the file's layer " +
                   a[i].at("path").get<std::string>() + " is not in it";
        const auto& x = a[i];
        const auto& y = b[i];
        const std::string where =
            "layer " + std::to_string(i) + " (" + y.at("path").get<std::string>() + "): ";
        if (x.at("path") != y.at("path") || x.at("kind") != y.at("kind"))
            return where + "the file has " + x.at("kind").get<std::string>() + " at " +
                   x.at("path").get<std::string>() + ", this network " + y.at("kind").get<std::string>();
        if (x.at("output") != y.at("output"))
            return where + "the file's " + x.at("kind").get<std::string>() + " outputs " +
                   shape_words(x.at("output")) + ", this network's " + shape_words(y.at("output"));
        if (x.at("tensors") != y.at("tensors")) {
            const auto& p = x.at("tensors");
            const auto& q = y.at("tensors");
            for (std::size_t k = 0; k < std::max(p.size(), q.size()); ++k) {
                if (k >= p.size())
                    return where + "the file has no tensor " + q[k].at("name").get<std::string>();
                if (k >= q.size())
                    return where + "this network has no tensor " + p[k].at("name").get<std::string>();
                if (p[k] != q[k])
                    return where + "tensor " + q[k].at("name").get<std::string>() + " is " +
                           shape_words(p[k].at("shape")) + " in the file, " + shape_words(q[k].at("shape")) +
                           " here";
            }
        }
    }
    return {};
}

}  // namespace detail

// Writes net's architecture, weights and batch-norm statistics to one .npz file.
template <class T, class Input, class... Layers>
void save(const basic_sequential<T, Input, Layers...>& net, const std::filesystem::path& file) {
    detail::zip_writer zip;
    zip.add("architecture.json", detail::describe_architecture(net).dump(1));
    for_each_tensor(net, [&](const layer_path& path, const auto& t) {
        zip.add(detail::tensor_file_name(path, t, weight_layout::strata) + ".npy",
                detail::encode_npy(t.data, detail::layout_dims(t, weight_layout::strata)));
    });
    detail::write_file_atomically(file, zip.finish());
}

// Reads a file written by save into net. A truncated, corrupt or foreign file
// gives data_error naming the file and the member; a file of another
// architecture names the first layer that differs. Nothing changes unless
// every tensor loads.
template <class T, class Input, class... Layers>
void load(basic_sequential<T, Input, Layers...>& net, const std::filesystem::path& file,
          non_finite_values non_finite = non_finite_values::reject) {
    // The largest sensible file: the header, every tensor in float64, and room for the architecture.
    const std::uintmax_t max_size =
        (std::uintmax_t{net.parameters().size() + net.state().size()} * 8 + 1024 * 1024) * 2;
    const detail::zip_reader zip(file, max_size);
    const std::string where = file.string() + ": ";
    if (!zip.contains("architecture.json"))
        throw data_error(where +
                         "not a strata model file (no architecture.json member); save_weights folders "
                         "load with load_weights");
    nlohmann::json architecture;
    try {
        architecture = nlohmann::json::parse(zip.read("architecture.json"));
        if (architecture.at("format") != detail::model_format)
            throw data_error(where + "member 'architecture.json': format '" +
                             architecture.at("format").dump() + "', expected '" + detail::model_format + "'");
        if (architecture.at("version") != detail::model_format_version)
            throw data_error(where + "member 'architecture.json': version " +
                             architecture.at("version").dump() + ", this strata reads version " +
                             std::to_string(detail::model_format_version));
        const std::string difference =
            detail::architecture_difference(architecture, detail::describe_architecture(net));
        if (!difference.empty()) throw data_error(where + "holds a different network: " + difference);
    } catch (const nlohmann::json::exception& e) {
        throw data_error(where + "member 'architecture.json' is malformed: " + e.what());
    }
    std::vector<T> staged(net.parameters().begin(), net.parameters().end()),
        staged_state(net.state().begin(), net.state().end());
    for_each_tensor(net, [&](const layer_path& path, const auto& t) {
        const std::string member = detail::tensor_file_name(path, t, weight_layout::strata) + ".npy";
        T* dst = t.trainable ? staged.data() + (t.data - net.parameters().data())
                             : staged_state.data() + (t.data - net.state().data());
        detail::decode_npy(zip.read(member),
                           where + "member '" + member + "': ", detail::layout_dims(t, weight_layout::strata),
                           dst, non_finite);
    });
    std::copy(staged.begin(), staged.end(), net.parameters().begin());
    std::copy(staged_state.begin(), staged_state.end(), net.state().begin());
}

}  // namespace strata
