// Losses over every pixel of a segmentation mask. The network's output for
// one image is H x W x C values (channels last: C values per pixel), so the
// loss's template arguments name the mask's shape and the compiler checks
// them against the network's output.
//
// pixel_crossentropy: targets are H x W class indices, a softmax over the C
// scores of each pixel. Each image's loss is the weighted mean over its
// counted pixels (PyTorch's cross_entropy with weight= and ignore_index= on
// that image); a batch's loss is the mean over its images. PyTorch's batch
// reduction divides by the weight of the whole batch instead; the two agree
// whenever every image counts the same weight (no weights, nothing ignored).
//
// pixel_binary_crossentropy: targets are H x W x C mask values in [0, 1]
// (binary or soft), an independent sigmoid per value (several classes may
// share a pixel). Each image's loss is sum(w_c bce) / (its counted values):
// PyTorch's BCEWithLogitsLoss(weight=w per channel, reduction='mean') on
// that image when nothing is ignored.
//
// Soft Dice and Jaccard losses over the same outputs are in overlap.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "binary_crossentropy.hpp"
#include "cross_entropy.hpp"
#include "loss.hpp"

namespace strata::loss {

namespace detail {

// A target value as a person wrote it: 4, 0.5, 255, nan.
inline std::string value_text(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

// `per_pixel` names what the C values of a pixel are: "classes", "channels".
inline void check_mask_outputs(std::string_view loss, std::size_t outputs, std::size_t h, std::size_t w,
                               std::size_t c, std::string_view per_pixel) {
    if (outputs == h * w * c) return;
    throw usage_error(std::string(loss) + ": the network gives " + std::to_string(outputs) +
                      " outputs per image; a " + std::to_string(h) + "x" + std::to_string(w) + " mask of " +
                      std::to_string(c) + " " + std::string(per_pixel) + " needs " +
                      std::to_string(h * w * c));
}

inline void check_class_weights(std::string_view loss, const std::vector<double>& weights, std::size_t c,
                                std::string_view per_pixel) {
    if (!weights.empty() && weights.size() != c)
        throw usage_error(std::string(loss) + ": " + std::to_string(weights.size()) + " class weights for " +
                          std::to_string(c) + " " + std::string(per_pixel));
    for (std::size_t i = 0; i < weights.size(); ++i)
        if (!(weights[i] >= 0 && std::isfinite(weights[i])))
            throw usage_error(std::string(loss) + ": class weight " + std::to_string(i) + " is " +
                              value_text(weights[i]) + "; it must be finite and >= 0");
}

inline double class_weight(const std::vector<double>& weights, std::size_t c) {
    return weights.empty() ? 1.0 : weights[c];
}

// A pixel's class, or nothing for a pixel that counts for nothing.
template <class T>
std::optional<std::size_t> class_label_of(T v, const std::optional<std::size_t>& ignore_label) {
    const auto label = static_cast<std::size_t>(v);
    if (ignore_label && label == *ignore_label) return std::nullopt;
    return label;
}

// Targets of n images, each H x W class indices in [0, c) or the ignore label.
template <class T>
void check_class_labels(std::string_view loss, const T* y, std::size_t n, std::size_t pixels, std::size_t c,
                        const std::optional<std::size_t>& ignore_label) {
    for (std::size_t i = 0; i < n * pixels; ++i) {
        const double label = static_cast<double>(y[i]);
        if (ignore_label && label == static_cast<double>(*ignore_label)) continue;
        if (!(label >= 0 && label < static_cast<double>(c) && label == std::floor(label)))
            throw usage_error(std::string(loss) + ": image " + std::to_string(i / pixels) + ", pixel " +
                              std::to_string(i % pixels) + " has label " + value_text(label) +
                              "; expected a class index in [0, " + std::to_string(c) + ")" +
                              (ignore_label ? " or the ignore label " + std::to_string(*ignore_label) : ""));
    }
}

// Compared in T, so an ignore value of 0.1 matches a float target of 0.1f.
template <class T>
bool is_ignored_value(T v, const std::optional<double>& ignore_value) {
    return ignore_value && v == static_cast<T>(*ignore_value);
}

// Targets of n images, each H x W x C mask values in [0, 1] or the ignore value.
template <class T>
void check_mask_values(std::string_view loss, const T* y, std::size_t n, std::size_t pixels, std::size_t c,
                       const std::optional<double>& ignore_value) {
    const std::size_t per_image = pixels * c;
    for (std::size_t i = 0; i < n * per_image; ++i) {
        if (is_ignored_value(y[i], ignore_value)) continue;
        const double v = static_cast<double>(y[i]);
        if (!(v >= 0 && v <= 1))
            throw usage_error(std::string(loss) + ": image " + std::to_string(i / per_image) + ", pixel " +
                              std::to_string(i % per_image / c) + ", channel " + std::to_string(i % c) +
                              " has target " + value_text(v) + "; expected a value in [0, 1]" +
                              (ignore_value ? " or the ignore value " + value_text(*ignore_value) : ""));
    }
}

}  // namespace detail

template <std::size_t H, std::size_t W, std::size_t C>
struct pixel_crossentropy {
    static_assert(H > 0 && W > 0, "pixel_crossentropy<H, W, C>: the mask needs at least one pixel");
    static_assert(C >= 2, "pixel_crossentropy<H, W, C>: a pixel's softmax needs at least 2 classes");
    bool from_logits = false;
    std::vector<double> class_weights{};        // one per class; empty: every class 1
    std::optional<std::size_t> ignore_label{};  // pixels with this label count for nothing

    static constexpr std::string_view name = "pixel_crossentropy";
    // Accuracy per pixel comes from the metric policies (metrics::pixel_accuracy, mean_iou).
    static constexpr bool has_accuracy = false;
    static constexpr std::size_t pixels = H * W, classes = C, required_outputs = H * W * C;
    static constexpr std::size_t height = H, width = W;

    std::size_t target_width(std::size_t) const { return pixels; }

    template <class T>
    void check_targets(const T* y, std::size_t n, std::size_t outputs) const {
        detail::check_mask_outputs(name, outputs, H, W, C, "classes");
        detail::check_class_weights(name, class_weights, C, "classes");
        detail::check_class_labels(name, y, n, pixels, C, ignore_label);
    }

    template <class T>
    double evaluate(const T* pred, const T* y, std::size_t n, std::size_t, T* grad, T grad_scale) const {
        double total = 0;
        for (std::size_t s = 0; s < n; ++s) {
            const T* labels = y + s * pixels;
            const T* scores = pred + s * required_outputs;
            T* g = grad ? grad + s * required_outputs : nullptr;
            double counted = 0;
            for (std::size_t p = 0; p < pixels; ++p)
                if (const auto l = detail::class_label_of(labels[p], ignore_label))
                    counted += detail::class_weight(class_weights, *l);
            if (g) std::fill(g, g + required_outputs, T(0));
            if (counted == 0) continue;  // every pixel ignored (or weighted 0): no loss, no gradient
            for (std::size_t p = 0; p < pixels; ++p) {
                const auto l = detail::class_label_of(labels[p], ignore_label);
                if (!l) continue;
                const double share = detail::class_weight(class_weights, *l) / counted;
                const std::size_t label = *l;
                total +=
                    share * detail::cross_entropy_sample(
                                scores + p * C, C, [label](std::size_t i) { return i == label ? 1.0 : 0.0; },
                                from_logits, g ? g + p * C : nullptr, static_cast<T>(grad_scale * share));
            }
        }
        return total;
    }

    template <class T>
    double accuracy_sum(const T*, const T*, std::size_t, std::size_t) const {
        return 0;
    }
};

template <std::size_t H, std::size_t W, std::size_t C>
struct pixel_binary_crossentropy {
    static_assert(H > 0 && W > 0, "pixel_binary_crossentropy<H, W, C>: the mask needs at least one pixel");
    static_assert(C >= 1, "pixel_binary_crossentropy<H, W, C>: the mask needs at least one channel");
    bool from_logits = false;
    std::vector<double> class_weights{};   // one per channel; empty: every channel 1
    std::optional<double> ignore_value{};  // mask values equal to it count for nothing (e.g. 255)

    static constexpr std::string_view name = "pixel_binary_crossentropy";
    static constexpr bool has_accuracy = false;
    static constexpr std::size_t pixels = H * W, channels = C, required_outputs = H * W * C;
    static constexpr std::size_t height = H, width = W;

    std::size_t target_width(std::size_t) const { return required_outputs; }

    template <class T>
    void check_targets(const T* y, std::size_t n, std::size_t outputs) const {
        detail::check_mask_outputs(name, outputs, H, W, C, "channels");
        detail::check_class_weights(name, class_weights, C, "channels");
        detail::check_mask_values(name, y, n, pixels, C, ignore_value);
    }

    template <class T>
    double evaluate(const T* pred, const T* y, std::size_t n, std::size_t, T* grad, T grad_scale) const {
        double total = 0;
        for (std::size_t s = 0; s < n; ++s) {
            const T* z = pred + s * required_outputs;
            const T* t = y + s * required_outputs;
            T* g = grad ? grad + s * required_outputs : nullptr;
            std::size_t counted = 0;
            for (std::size_t i = 0; i < required_outputs; ++i)
                counted += !detail::is_ignored_value(t[i], ignore_value);
            if (g) std::fill(g, g + required_outputs, T(0));
            if (counted == 0) continue;  // every value ignored: no loss, no gradient
            const double per_value = 1.0 / static_cast<double>(counted);
            double image = 0;
            for (std::size_t p = 0; p < pixels; ++p)
                for (std::size_t c = 0; c < C; ++c) {
                    const std::size_t i = p * C + c;
                    if (detail::is_ignored_value(t[i], ignore_value)) continue;
                    const double w = detail::class_weight(class_weights, c);
                    const auto e = detail::binary_cross_entropy_element(
                        static_cast<double>(z[i]), static_cast<double>(t[i]), from_logits);
                    image += w * e.loss;
                    if (g) g[i] = static_cast<T>(grad_scale * (w * per_value * e.slope));
                }
            total += image * per_value;
        }
        return total;
    }

    template <class T>
    double accuracy_sum(const T*, const T*, std::size_t, std::size_t) const {
        return 0;
    }
};

}  // namespace strata::loss
