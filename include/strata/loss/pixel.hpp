// Losses over every pixel of a segmentation mask. The network's output for
// one image is H x W x C values (channels last: C class scores per pixel),
// and its target H x W class indices, so the loss's template arguments name
// the mask's shape and the compiler checks them against the network's
// output. Each image's loss is the weighted mean over its counted pixels
// (PyTorch's cross_entropy with weight= and ignore_index= on that image);
// a batch's loss is the mean over its images. PyTorch's batch reduction
// divides by the weight of the whole batch instead; the two agree whenever
// every image counts the same weight (no weights, nothing ignored).
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cross_entropy.hpp"
#include "loss.hpp"

namespace strata::loss {

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

    std::size_t target_width(std::size_t) const { return pixels; }

    template <class T>
    void check_targets(const T* y, std::size_t n, std::size_t outputs) const {
        if (outputs != required_outputs)
            throw usage_error(std::string(name) + ": the network gives " + std::to_string(outputs) +
                              " outputs per image; a " + std::to_string(H) + "x" + std::to_string(W) +
                              " mask of " + std::to_string(C) + " classes needs " +
                              std::to_string(required_outputs));
        if (!class_weights.empty() && class_weights.size() != C)
            throw usage_error(std::string(name) + ": " + std::to_string(class_weights.size()) +
                              " class weights for " + std::to_string(C) + " classes");
        for (std::size_t c = 0; c < class_weights.size(); ++c)
            if (!(class_weights[c] >= 0 && std::isfinite(class_weights[c])))
                throw usage_error(std::string(name) + ": class weight " + std::to_string(c) +
                                  " must be finite and >= 0");
        for (std::size_t i = 0; i < n * pixels; ++i) {
            const double label = static_cast<double>(y[i]);
            if (ignore_label && label == static_cast<double>(*ignore_label)) continue;
            if (!(label >= 0 && label < static_cast<double>(C) && label == std::floor(label)))
                throw usage_error(
                    std::string(name) + ": image " + std::to_string(i / pixels) + ", pixel " +
                    std::to_string(i % pixels) + " has label " + std::to_string(label) +
                    "; expected a class index in [0, " + std::to_string(C) + ")" +
                    (ignore_label ? " or the ignore label " + std::to_string(*ignore_label) : ""));
        }
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
                if (const auto l = label_of(labels[p])) counted += weight(*l);
            if (g) std::fill(g, g + required_outputs, T(0));
            if (counted == 0) continue;  // every pixel ignored (or weighted 0): no loss, no gradient
            for (std::size_t p = 0; p < pixels; ++p) {
                const auto l = label_of(labels[p]);
                if (!l) continue;
                const double share = weight(*l) / counted;
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

private:
    template <class T>
    std::optional<std::size_t> label_of(T v) const {
        const auto label = static_cast<std::size_t>(v);
        if (ignore_label && label == *ignore_label) return std::nullopt;
        return label;
    }
    double weight(std::size_t label) const { return class_weights.empty() ? 1.0 : class_weights[label]; }
};

}  // namespace strata::loss
