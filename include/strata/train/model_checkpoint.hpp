// Keras' ModelCheckpoint: saves the weights at the end of epochs, every
// epoch or only when the monitored value improves. The path may hold
// Python-style fields: {epoch} (1-based, as Keras fills it; {epoch:03d}
// pads it) and any measured quantity ({loss}, {val_loss:.4f}, {accuracy},
// {val_accuracy}). A checkpoint is a folder in save_weights' format: one
// .npy file per tensor, each written atomically, weights and batch-norm
// statistics included.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>

#include "../core/error.hpp"
#include "../core/metric.hpp"
#include "../model/weights.hpp"
#include "callbacks.hpp"

namespace strata {

namespace detail {

// path with each {field} or {field:spec} filled from the epoch's record; spec
// is Python's for an int ("03d") or a float (".4f", ".2e", "g").
inline std::string format_checkpoint_path(std::string_view pattern, const epoch_record& r) {
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '{') {
            out += pattern[i];
            continue;
        }
        const std::size_t close = pattern.find('}', i);
        if (close == std::string_view::npos)
            throw usage_error("model_checkpoint: the path '" + std::string(pattern) +
                              "' has a '{' without '}'");
        const std::string_view field = pattern.substr(i + 1, close - i - 1);
        const std::size_t colon = field.find(':');
        const std::string_view name = field.substr(0, colon);
        const std::string spec(colon == std::string_view::npos ? std::string_view()
                                                               : field.substr(colon + 1));
        const auto bad_spec = [&] {
            return usage_error("model_checkpoint: unsupported format '" + spec + "' for {" +
                               std::string(name) + "} in the path '" + std::string(pattern) + "'");
        };
        if (name == "epoch") {
            // [0][width]d
            const bool ok = spec.empty() || (spec.size() <= 3 && spec.back() == 'd' &&
                                             spec.find_first_not_of("0123456789") == spec.size() - 1);
            if (!ok) throw bad_spec();
            std::string digits = std::to_string(r.epoch);
            const std::size_t width = spec.size() > 1 ? std::stoul(spec.substr(0, spec.size() - 1)) : 0;
            if (digits.size() < width) digits.insert(0, width - digits.size(), spec[0] == '0' ? '0' : ' ');
            out += digits;
        } else {
            double value = 0;
            if (name == "loss")
                value = r.loss;
            else if (name == "accuracy")
                value = r.accuracy;
            else if (name == "val_loss")
                value = r.val_loss;
            else if (name == "val_accuracy")
                value = r.val_accuracy;
            else
                throw usage_error("model_checkpoint: unknown field {" + std::string(name) +
                                  "} in the path '" + std::string(pattern) +
                                  "'; fields are epoch, loss, accuracy, val_loss and val_accuracy");
            // [.precision](f|e|g), precision below 100 so the text stays short
            const bool ok =
                spec.empty() ||
                (spec.size() <= 4 && std::string_view("feg").find(spec.back()) != std::string_view::npos &&
                 (spec.size() == 1 || (spec[0] == '.' && spec.size() >= 3 &&
                                       spec.find_first_not_of("0123456789", 1) == spec.size() - 1)));
            if (!ok) throw bad_spec();
            if (spec.empty()) {
                out += shortest(value);
            } else {
                const std::string format = "%" + spec;
                std::string text(static_cast<std::size_t>(std::snprintf(nullptr, 0, format.c_str(), value)),
                                 '\0');
                std::snprintf(text.data(), text.size() + 1, format.c_str(), value);
                out += text;
            }
        }
        i = close;
    }
    return out;
}

}  // namespace detail

struct model_checkpoint {
    std::string path;
    metric monitor = metric::val_loss;
    bool save_best_only = false;
    monitor_mode mode = monitor_mode::automatic;

    void on_train_begin(const training_view& s) {
        if (path.empty()) throw usage_error("model_checkpoint: the path is empty");
        if (save_best_only) detail::check_monitor(monitor, s, "model_checkpoint");
        epoch_record probe;
        probe.epoch = 1;
        detail::format_checkpoint_path(path, probe);  // a bad field fails now, not after an epoch
        best_ = (detail::minimizes(mode, monitor) ? 1 : -1) * std::numeric_limits<double>::infinity();
    }

    template <class State>
    void on_epoch_end(State& s) {
        const epoch_record& r = s.logs();
        if (save_best_only) {
            const double current = r.value(monitor);
            if (!(detail::minimizes(mode, monitor) ? current < best_ : current > best_)) return;
            best_ = current;
        }
        last_saved_ = detail::format_checkpoint_path(path, r);
        if (s.is_main_process()) save_weights(s.network(), last_saved_);
    }

    // The folder of the last checkpoint written; empty before the first.
    const std::filesystem::path& last_saved() const noexcept { return last_saved_; }

    // Kept during training (public only so the options above can be designated).
    double best_ = 0;
    std::filesystem::path last_saved_{};
};

}  // namespace strata
