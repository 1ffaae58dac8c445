// What fit returns: one record per finished epoch, like Keras' History, and
// why training stopped early if it did.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/metric.hpp"

namespace strata {

inline constexpr double not_measured = std::numeric_limits<double>::quiet_NaN();

struct epoch_record {
    std::size_t epoch = 0;  // 1-based
    double loss = not_measured;
    double accuracy = not_measured;  // NaN for losses without accuracy
    double val_loss = not_measured;  // NaN without validation data
    double val_accuracy = not_measured;
    double seconds = 0;  // training time of the epoch, validation excluded
    double images_per_second = 0;
    double learning_rate = not_measured;  // of the epoch's last step
    // fit's metric policies: name (on the training batches) and val_name.
    std::vector<std::pair<std::string, double>> metrics;

    // A quantity by its Keras name ("val_loss", "val_f1_macro", ...); NaN if it was not measured.
    double value(std::string_view name) const noexcept {
        for (const metric m : {metric::loss, metric::accuracy, metric::val_loss, metric::val_accuracy})
            if (metric_name(m) == name) return value(m);
        for (const auto& [n, v] : metrics)
            if (n == name) return v;
        return not_measured;
    }

    double value(metric m) const noexcept {
        switch (m) {
            case metric::loss:
                return loss;
            case metric::accuracy:
                return accuracy;
            case metric::val_loss:
                return val_loss;
            case metric::val_accuracy:
                return val_accuracy;
        }
        return not_measured;
    }
};

// Why training ended before its last epoch.
enum class stop_cause {
    none,         // every requested epoch ran
    callback,     // a callback asked (early_stopping, on_epoch_end, ...)
    bad_step,     // a loss, gradient or weight turned NaN or infinite, or the learning rate was invalid
    interrupted,  // SIGINT (Ctrl-C) during fit
};

struct history {
    std::vector<epoch_record> epochs;
    // Empty when every requested epoch ran; otherwise says why training stopped.
    std::string stop_reason;
    stop_cause cause = stop_cause::none;
    std::size_t stopped_epoch = 0;  // the epoch in or after which training stopped early; 0 if none
    std::size_t best_epoch = 0;     // the best epoch by early_stopping's monitor; 0 without one

    bool stopped_early() const noexcept { return !stop_reason.empty(); }
    double train_seconds() const noexcept {
        double s = 0;
        for (const auto& e : epochs) s += e.seconds;
        return s;
    }
};

}  // namespace strata
