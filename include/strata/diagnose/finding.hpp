// What diagnose and audit report: a finding names a problem with a fit or its
// data, how bad it is, the numbers behind it and what to change, in strata's
// own API.
#pragma once

#include <algorithm>
#include <cstddef>
#include <iomanip>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

enum class finding_kind {
    overfitting,
    underfitting,
    learning_rate_too_high,
    learning_rate_too_low,
    too_few_epochs,
    class_imbalance,
    non_finite,  // NaN or infinite pixels (or a loss that went non-finite because of them)
    data_leak,   // test images copied into the training data
    duplicates,  // training images repeated within the training data
    blank_images,
    bad_pixels,  // pixels outside the expected range
    likely_mislabelled,
    dead_units,       // ReLU units that never activate
    saturated_units,  // sigmoid or tanh outputs stuck at an asymptote
    vanishing_gradients,
    exploding_gradients,
    unsuited_architecture,  // a network whose structure does not fit the task
};

enum class severity {
    info,     // worth knowing; the fit is usable
    warning,  // the fit is worse than it could be, or its numbers mislead
    error,    // the result is unusable or untrustworthy as it stands
};

constexpr std::string_view to_string(finding_kind k) noexcept {
    switch (k) {
        case finding_kind::overfitting:
            return "overfitting";
        case finding_kind::underfitting:
            return "underfitting";
        case finding_kind::learning_rate_too_high:
            return "learning_rate_too_high";
        case finding_kind::learning_rate_too_low:
            return "learning_rate_too_low";
        case finding_kind::too_few_epochs:
            return "too_few_epochs";
        case finding_kind::class_imbalance:
            return "class_imbalance";
        case finding_kind::non_finite:
            return "non_finite";
        case finding_kind::data_leak:
            return "data_leak";
        case finding_kind::duplicates:
            return "duplicates";
        case finding_kind::blank_images:
            return "blank_images";
        case finding_kind::bad_pixels:
            return "bad_pixels";
        case finding_kind::likely_mislabelled:
            return "likely_mislabelled";
        case finding_kind::dead_units:
            return "dead_units";
        case finding_kind::saturated_units:
            return "saturated_units";
        case finding_kind::vanishing_gradients:
            return "vanishing_gradients";
        case finding_kind::exploding_gradients:
            return "exploding_gradients";
        case finding_kind::unsuited_architecture:
            return "unsuited_architecture";
    }
    return "unknown";
}

constexpr std::string_view to_string(severity s) noexcept {
    switch (s) {
        case severity::info:
            return "info";
        case severity::warning:
            return "warning";
        case severity::error:
            return "error";
    }
    return "unknown";
}

struct finding {
    finding_kind kind{};
    severity level = severity::info;
    std::string summary{};   // one line: what is wrong
    std::string evidence{};  // the numbers: epochs, values and the thresholds they crossed
    std::string advice{};    // what to try, in strata's API
    // How far past its threshold (1 = at the warning threshold, more is
    // worse); orders findings of the same severity.
    double score = 0;
    std::vector<std::size_t> indices{};  // samples concerned (data findings), for a report to show
};

// Most severe first, then the highest score; equal findings keep their order.
inline void sort_findings(std::vector<finding>& findings) {
    std::stable_sort(findings.begin(), findings.end(), [](const finding& a, const finding& b) {
        if (a.level != b.level) return a.level > b.level;
        return a.score > b.score;
    });
}

// "[warning] overfitting: summary" then the evidence and advice, indented.
inline std::string to_string(const finding& f) {
    std::string s =
        "[" + std::string(to_string(f.level)) + "] " + std::string(to_string(f.kind)) + ": " + f.summary;
    if (!f.evidence.empty()) s += "\n  evidence: " + f.evidence;
    if (!f.advice.empty()) s += "\n  advice: " + f.advice;
    return s;
}

namespace diagnosis::detail {

// Numbers for people: `digits` significant digits, no trailing zeros.
inline std::string number(double v, int digits = 3) {
    std::ostringstream s;
    s << std::setprecision(digits) << v;
    return s.str();
}

// 0.153 -> "15.3%".
inline std::string percent(double fraction, int digits = 3) { return number(100 * fraction, digits) + "%"; }

// "3, 17, 42 (and 12 more)".
template <class Values>
std::string listing(const Values& values, std::size_t total) {
    std::string s;
    std::size_t shown = 0;
    for (const auto& v : values) {
        if (shown++) s += ", ";
        s += v;
    }
    if (total > shown) s += " (and " + std::to_string(total - shown) + " more)";
    return s;
}

}  // namespace diagnosis::detail

}  // namespace strata
