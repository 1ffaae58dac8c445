// What the examples share: whole-number flags and the JSON object they print
// as the last line of stdout with --json.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <sstream>
#include <string>
#include <string_view>

#include <strata/train/history.hpp>

namespace example {

// The value of a whole-number flag, or "" with the problem in `problem`.
inline bool parse_number(std::string_view flag, const char* text, bool allow_zero, std::uint64_t& value,
                         std::string& problem) {
    const std::string_view s(text);
    const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (err != std::errc{} || end != s.data() + s.size() || (!allow_zero && value == 0)) {
        problem = std::string(flag) + " expects a " + (allow_zero ? "non-negative" : "positive") +
                  " whole number, got '" + std::string(s) + "'";
        return false;
    }
    return true;
}

// A JSON number, or null for NaN and infinities (not measured).
inline std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream s;
    s << std::setprecision(6) << v;
    return s.str();
}

// The keys every training example reports, then `extra` (", \"key\": value" pairs).
struct training_report {
    double test_accuracy = 0, test_loss = 0;
    std::size_t train_images = 0, batch = 0;
    std::uint64_t seed = 0;
    std::string variant, lr_schedule, extra;
};

inline std::string json_line(const training_report& r, const strata::history& h) {
    const double seconds = h.train_seconds();
    const double images = static_cast<double>(r.train_images * h.epochs.size());
    std::ostringstream j;
    j << std::setprecision(6) << "{\"test_accuracy\": " << r.test_accuracy
      << ", \"test_loss\": " << r.test_loss << ", \"epochs\": " << h.epochs.size()
      << ", \"train_seconds\": " << seconds << ", \"train_images_per_second\": " << images / seconds
      << ", \"train_images\": " << r.train_images << ", \"batch\": " << r.batch << ", \"seed\": " << r.seed
      << ", \"variant\": \"" << r.variant << "\", \"lr_schedule\": \"" << r.lr_schedule << "\"" << r.extra
      << ", \"stopped_early\": " << (h.stopped_early() ? "true" : "false") << ", \"history\": [";
    for (std::size_t i = 0; i < h.epochs.size(); ++i) {
        const auto& e = h.epochs[i];
        j << (i ? ", " : "") << "{\"epoch\": " << e.epoch << ", \"loss\": " << json_number(e.loss)
          << ", \"accuracy\": " << json_number(e.accuracy) << ", \"val_loss\": " << json_number(e.val_loss)
          << ", \"val_accuracy\": " << json_number(e.val_accuracy) << ", \"seconds\": " << e.seconds << "}";
    }
    j << "]}";
    return j.str();
}

}  // namespace example
