// The per-epoch quantities that a schedule or callback can watch, named as in
// Keras' logs so `monitor = metric::val_loss` reads like `monitor="val_loss"`.
#pragma once

#include <string_view>

namespace strata {

enum class metric { loss, accuracy, val_loss, val_accuracy };

// Keras' mode="auto": a loss improves downwards, an accuracy upwards.
constexpr bool lower_is_better(metric m) noexcept { return m == metric::loss || m == metric::val_loss; }

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
