// The per-epoch quantities that a schedule or callback can watch, named as in
// Keras' logs so `monitor = metric::val_loss` reads like `monitor="val_loss"`.
#pragma once

#include <string_view>

namespace strata {

enum class metric { loss, accuracy, val_loss, val_accuracy };

// Keras' mode="auto": a loss improves downwards, an accuracy upwards.
constexpr bool lower_is_better(metric m) noexcept { return m == metric::loss || m == metric::val_loss; }

// The same rule for any quantity by its history name, with or without "val_":
// losses and errors (loss, dice_loss, mae, mse, ...) improve downwards;
// scores (accuracy, f1_macro, auc, mean_iou, ...) upwards.
constexpr bool lower_is_better(std::string_view name) noexcept {
    if (name.starts_with("val_")) name.remove_prefix(4);
    return name.ends_with("loss") || name == "mae" || name == "mse" || name == "rmse" ||
           name.find("error") != std::string_view::npos;
}

constexpr std::string_view metric_name(metric m) noexcept {
    switch (m) {
        case metric::loss:
            return "loss";
        case metric::accuracy:
            return "accuracy";
        case metric::val_loss:
            return "val_loss";
        case metric::val_accuracy:
            return "val_accuracy";
    }
    return "unknown metric";  // only reachable through a cast from an out-of-range integer
}

}  // namespace strata
