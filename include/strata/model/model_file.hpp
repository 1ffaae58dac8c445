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

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/error.hpp"
#include "../data/npy.hpp"
#include "../data/zip.hpp"
#include "../train/callbacks.hpp"
#include "../train/history.hpp"
#include "../train/model_checkpoint.hpp"
#include "../train/trainer.hpp"
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

namespace detail {

// Checks zip's architecture against net's and loads every tensor, changing
// nothing unless all of them load.
template <class T, class Input, class... Layers>
void load_model_from(const zip_reader& zip, basic_sequential<T, Input, Layers...>& net,
                     non_finite_values non_finite) {
    const std::string where = zip.file() + ": ";
    if (!zip.contains("architecture.json"))
        throw data_error(where +
                         "not a strata model file (no architecture.json member); save_weights folders "
                         "load with load_weights");
    try {
        const auto architecture = nlohmann::json::parse(zip.read("architecture.json"));
        if (architecture.at("format") != model_format)
            throw data_error(where + "member 'architecture.json': format " +
                             architecture.at("format").dump() + ", expected \"" + model_format + "\"");
        if (architecture.at("version") != model_format_version)
            throw data_error(where + "member 'architecture.json': version " +
                             architecture.at("version").dump() + ", this strata reads version " +
                             std::to_string(model_format_version));
        const std::string difference = architecture_difference(architecture, describe_architecture(net));
        if (!difference.empty()) throw data_error(where + "holds a different network: " + difference);
    } catch (const nlohmann::json::exception& e) {
        throw data_error(where + "member 'architecture.json' is malformed: " + e.what());
    }
    std::vector<T> staged(net.parameters().begin(), net.parameters().end()),
        staged_state(net.state().begin(), net.state().end());
    for_each_tensor(net, [&](const layer_path& path, const auto& t) {
        const std::string member = tensor_file_name(path, t, weight_layout::strata) + ".npy";
        T* dst = t.trainable ? staged.data() + (t.data - net.parameters().data())
                             : staged_state.data() + (t.data - net.state().data());
        decode_npy(zip.read(member),
                   where + "member '" + member + "': ", layout_dims(t, weight_layout::strata), dst,
                   non_finite);
    });
    std::copy(staged.begin(), staged.end(), net.parameters().begin());
    std::copy(staged_state.begin(), staged_state.end(), net.state().begin());
}

template <class T, class Input, class... Layers>
void add_model_members(zip_writer& zip, const basic_sequential<T, Input, Layers...>& net) {
    zip.add("architecture.json", describe_architecture(net).dump(1));
    for_each_tensor(net, [&](const layer_path& path, const auto& t) {
        zip.add(tensor_file_name(path, t, weight_layout::strata) + ".npy",
                encode_npy(t.data, layout_dims(t, weight_layout::strata)));
    });
}

// The largest sensible file for net: every tensor in float64, room for the rest.
template <class Net>
std::uintmax_t model_file_limit(const Net& net, std::uintmax_t extra_values = 0) {
    return (std::uintmax_t{net.parameters().size() + net.state().size() + extra_values} * 8 + 1024 * 1024) *
           4;
}

}  // namespace detail

// Writes net's architecture, weights and batch-norm statistics to one .npz file.
template <class T, class Input, class... Layers>
void save(const basic_sequential<T, Input, Layers...>& net, const std::filesystem::path& file) {
    detail::zip_writer zip;
    detail::add_model_members(zip, net);
    detail::write_file_atomically(file, zip.finish());
}

// Reads a file written by save (or a checkpoint) into net. A truncated,
// corrupt or foreign file gives data_error naming the file and the member; a
// file of another architecture names the first layer that differs. Nothing
// changes unless every tensor loads.
template <class T, class Input, class... Layers>
void load(basic_sequential<T, Input, Layers...>& net, const std::filesystem::path& file,
          non_finite_values non_finite = non_finite_values::reject) {
    const detail::zip_reader zip(file, detail::model_file_limit(net, net.parameters().size() * 3));
    detail::load_model_from(zip, net, non_finite);
}

// --- Checkpoints: a model file plus what training needs to continue exactly.
//   optimizer.<name>.npy  each buffer of the optimizer's state (Adam's m and v, ...)
//   training.json         steps, seed, base learning rate, epochs done, the
//                         optimizer's counters, the sampler's order and
//                         generator position, and the history so far

namespace detail {

inline constexpr const char* checkpoint_format = "strata-checkpoint";

inline nlohmann::json number_or_null(double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}
inline double number_or_nan(const nlohmann::json& j) {
    return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}

inline nlohmann::json history_to_json(const history& h) {
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& e : h.epochs) {
        nlohmann::json metrics = nlohmann::json::array();
        for (const auto& [name, value] : e.metrics) metrics.push_back({name, number_or_null(value)});
        epochs.push_back({{"epoch", e.epoch},
                          {"loss", number_or_null(e.loss)},
                          {"accuracy", number_or_null(e.accuracy)},
                          {"val_loss", number_or_null(e.val_loss)},
                          {"val_accuracy", number_or_null(e.val_accuracy)},
                          {"seconds", e.seconds},
                          {"images_per_second", e.images_per_second},
                          {"learning_rate", number_or_null(e.learning_rate)},
                          {"metrics", metrics}});
    }
    return {{"epochs", epochs}, {"best_epoch", h.best_epoch}};
}

inline history history_from_json(const nlohmann::json& j) {
    history h;
    for (const auto& e : j.at("epochs")) {
        epoch_record r;
        r.epoch = e.at("epoch").get<std::size_t>();
        r.loss = number_or_nan(e.at("loss"));
        r.accuracy = number_or_nan(e.at("accuracy"));
        r.val_loss = number_or_nan(e.at("val_loss"));
        r.val_accuracy = number_or_nan(e.at("val_accuracy"));
        r.seconds = e.at("seconds").get<double>();
        r.images_per_second = e.at("images_per_second").get<double>();
        r.learning_rate = number_or_nan(e.at("learning_rate"));
        for (const auto& m : e.at("metrics"))
            r.metrics.emplace_back(m.at(0).get<std::string>(), number_or_nan(m.at(1)));
        h.epochs.push_back(std::move(r));
    }
    h.best_epoch = j.at("best_epoch").get<std::size_t>();
    return h;
}

}  // namespace detail

// Writes a resumable checkpoint: net, the training snapshot and the history.
template <class T, class Input, class... Layers>
void save_checkpoint(const basic_sequential<T, Input, Layers...>& net, const training_snapshot<T>& snapshot,
                     const history& past, const std::filesystem::path& file) {
    detail::zip_writer zip;
    detail::add_model_members(zip, net);
    nlohmann::json counters = nlohmann::json::object();
    for (const auto& [name, span] : snapshot.optimizer_buffers)
        zip.add("optimizer." + name + ".npy", detail::encode_npy(span.data(), {span.size()}));
    for (const auto& [name, value] : snapshot.optimizer_counters) counters[name] = value;
    nlohmann::json training{{"format", detail::checkpoint_format},
                            {"version", detail::model_format_version},
                            {"steps", snapshot.steps},
                            {"seed", snapshot.seed},
                            {"base_learning_rate", snapshot.base_learning_rate},
                            {"epochs_done", snapshot.epochs_done},
                            {"optimizer_counters", counters},
                            {"history", detail::history_to_json(past)}};
    if (snapshot.sampler_saved)
        training["sampler"] = {{"order", snapshot.sampler_order}, {"position", snapshot.sampler_position}};
    zip.add("training.json", training.dump());
    detail::write_file_atomically(file, zip.finish());
}

// A callback that writes a resumable checkpoint after every epoch (and when
// training ends early, e.g. on Ctrl-C) to path, which may hold model_checkpoint's
// fields ({epoch:03d}, {val_loss:.4f}, ...). fit(..., resume_from{path}) continues from it.
struct checkpoint {
    std::string path;

    void on_train_begin(const training_view&) {
        if (path.empty()) throw usage_error("checkpoint: the path is empty");
        epoch_record probe;
        probe.epoch = 1;
        detail::format_checkpoint_path(path, probe);
    }
    template <class State>
    void on_epoch_end(State& s) {
        if (!s.is_main_process()) return;  // data-parallel: every process holds the same state
        save_checkpoint(s.network(), s.snapshot(), s.history(),
                        detail::format_checkpoint_path(path, s.logs()));
    }
};

// A fit option: continue the training saved in a checkpoint. The network's
// weights and batch-norm statistics, the optimizer's state, the step count
// (so schedules continue), the learning rate, the sampler's order and the
// history come back, and fit runs the epochs after the saved ones up to
// epochs{n}. With the same seed, data, options and thread count, the result
// is bit-identical to a run that never stopped.
struct resume_from {
    std::filesystem::path path;
    using resume_tag = void;

    template <class Trainer, class Sampler>
    resume_point restore(Trainer& t, Sampler& sampler) const {
        auto& net = t.network();
        std::size_t optimizer_values = 0;
        t.visit_optimizer_state([&](const char*, auto& value) {
            if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(value)>, std::uint64_t>)
                optimizer_values += value.size();
        });
        const detail::zip_reader zip(
            path, detail::model_file_limit(net, optimizer_values + 4 * net.parameters().size()));
        const std::string where = zip.file() + ": ";
        if (!zip.contains("training.json"))
            throw data_error(where +
                             "a model file, not a checkpoint (no training.json member); load() reads it");
        detail::load_model_from(zip, net, non_finite_values::reject);
        resume_point start;
        try {
            const auto training = nlohmann::json::parse(zip.read("training.json"));
            if (training.at("format") != detail::checkpoint_format ||
                training.at("version") != detail::model_format_version)
                throw data_error(where + "member 'training.json': not a version " +
                                 std::to_string(detail::model_format_version) + " strata checkpoint");
            const auto seed = training.at("seed").get<std::uint64_t>();
            if (seed != t.settings().seed_value)
                throw usage_error(where + "the checkpoint was trained with seed{" + std::to_string(seed) +
                                  "} but this fit has seed{" + std::to_string(t.settings().seed_value) +
                                  "}; resume with the same seed to continue the same run");
            t.visit_optimizer_state([&](const char* name, auto& value) {
                if constexpr (std::is_same_v<std::remove_cvref_t<decltype(value)>, std::uint64_t>) {
                    value = training.at("optimizer_counters").at(name).template get<std::uint64_t>();
                } else {
                    const std::string member = std::string("optimizer.") + name + ".npy";
                    if (!zip.contains(member))
                        throw data_error(where + "member '" + member +
                                         "' is missing: the checkpoint was written "
                                         "with another optimizer");
                    detail::decode_npy(zip.read(member), where + "member '" + member + "': ", {value.size()},
                                       value.data(), non_finite_values::reject);
                }
            });
            t.set_steps_done(training.at("steps").get<std::size_t>());
            t.set_learning_rate(training.at("base_learning_rate").get<double>());
            if (training.contains("sampler")) {
                if constexpr (requires { sampler.position(); }) {
                    const auto order = training.at("sampler").at("order").get<std::vector<std::size_t>>();
                    const auto position =
                        training.at("sampler").at("position").get<std::array<std::uint64_t, 4>>();
                    sampler.set_position(order, position);
                }
            }
            start.epochs_done = training.at("epochs_done").get<std::size_t>();
            start.past = detail::history_from_json(training.at("history"));
        } catch (const nlohmann::json::exception& e) {
            throw data_error(where + "member 'training.json' is malformed: " + e.what());
        }
        return start;
    }
};

}  // namespace strata
