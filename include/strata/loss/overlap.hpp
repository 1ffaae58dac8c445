// Soft Dice and soft Jaccard (IoU) losses over a segmentation mask: one minus
// how well the predicted probabilities P overlap the targets T, channel by
// channel. Each class is scored against its own pixels, not against all of
// them, so a small class weighs as much as the background that dominates a
// pixel-wise mean.
//
// Over an image's counted pixels, for each channel c:
//   I_c = sum P T,  S_c = sum P + sum T,
//   dice_c    = (2 I_c + smooth) / (S_c + smooth),
//   jaccard_c = (I_c + smooth) / (S_c - I_c + smooth),
//   image loss = 1 - sum_c w_c score_c / sum_c w_c   (w_c = 1 without class weights).
// smooth = 1 by default: a channel absent from both prediction and target
// then scores 1 rather than 0/0, and a nearly empty channel's gradient stays
// bounded. smooth = 0 gives the exact score, and NaN for such a channel.
//
// The sums run over one image, never the whole batch, so the batch's loss is
// the mean of its images' losses as for every strata loss (and sample
// weights apply per image). Libraries that pool the sums over the batch
// (segmentation_models_pytorch's DiceLoss) give a different number.
//
// targets = pixel_targets::classes: y holds H x W class indices, P is the
// softmax of each pixel's C scores (from_logits) or the outputs themselves,
// T is one-hot; pixels labelled ignore_label are left out of every sum.
// targets = pixel_targets::masks: y holds H x W x C values in [0, 1], P is
// the sigmoid of each output (from_logits) or the output; values equal to
// ignore_label are left out. An image with nothing counted adds no loss and
// no gradient.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loss.hpp"
#include "pixel.hpp"

namespace strata::loss {

enum class pixel_targets { classes, masks };
enum class overlap_score { dice, jaccard };

template <std::size_t H, std::size_t W, std::size_t C, overlap_score Score>
struct overlap_loss {
    static_assert(H > 0 && W > 0, "dice / jaccard <H, W, C>: the mask needs at least one pixel");
    static_assert(C >= 1, "dice / jaccard <H, W, C>: the mask needs at least one channel");
    bool from_logits = false;
    // A softmax over one channel is always 1: a single channel is a mask.
    pixel_targets targets = C >= 2 ? pixel_targets::classes : pixel_targets::masks;
    std::vector<double> class_weights{};        // one per channel; empty: every channel 1
    std::optional<std::size_t> ignore_label{};  // a label (classes), a mask value (masks): counts for nothing
    double smooth = 1.0;

    static constexpr std::string_view name = Score == overlap_score::dice ? "dice" : "jaccard";
    static constexpr bool has_accuracy = false;
    static constexpr std::size_t pixels = H * W, channels = C, required_outputs = H * W * C;
    static constexpr std::size_t height = H, width = W;

    std::size_t target_width(std::size_t) const {
        return targets == pixel_targets::classes ? pixels : required_outputs;
    }

    template <class T>
    void check_targets(const T* y, std::size_t n, std::size_t outputs) const {
        const bool by_class = targets == pixel_targets::classes;
        if (by_class && C == 1)
            throw usage_error(std::string(name) +
                              ": targets = pixel_targets::classes needs at least 2 channels (a softmax over "
                              "one channel is always 1); for a one-channel mask use targets = "
                              "pixel_targets::masks");
        detail::check_mask_outputs(name, outputs, H, W, C, by_class ? "classes" : "channels");
        detail::check_class_weights(name, class_weights, C, by_class ? "classes" : "channels");
        if (!class_weights.empty() && weight_sum() == 0)
            throw usage_error(std::string(name) + ": the class weights are all 0, so nothing is scored");
        if (!(smooth >= 0 && std::isfinite(smooth)))
            throw usage_error(std::string(name) + ": smooth is " + detail::value_text(smooth) +
                              "; it must be finite and >= 0");
        if (by_class)
            detail::check_class_labels(name, y, n, pixels, C, ignore_label);
        else
            detail::check_mask_values(name, y, n, pixels, C, ignored_value());
    }

    template <class T>
    double evaluate(const T* pred, const T* y, std::size_t n, std::size_t, T* grad, T grad_scale) const {
        const bool by_class = targets == pixel_targets::classes;
        const std::size_t width = target_width(required_outputs);
        const std::optional<double> ignore = ignored_value();
        const double weights = weight_sum();
        double total = 0;
        std::array<double, C> p;  // one pixel's probabilities
        for (std::size_t s = 0; s < n; ++s) {
            const T* z = pred + s * required_outputs;
            const T* t = y + s * width;
            T* g = grad ? grad + s * required_outputs : nullptr;
            if (g) std::fill(g, g + required_outputs, T(0));

            std::array<double, C> overlap{}, mass{};  // I_c and S_c
            std::size_t counted = 0;
            for (std::size_t px = 0; px < pixels; ++px) {
                if (by_class) {
                    const auto label = detail::class_label_of(t[px], ignore_label);
                    if (!label) continue;
                    ++counted;
                    class_probabilities(z + px * C, p);
                    for (std::size_t c = 0; c < C; ++c) mass[c] += p[c];
                    overlap[*label] += p[*label];
                    mass[*label] += 1;
                } else {
                    for (std::size_t c = 0; c < C; ++c) {
                        const std::size_t i = px * C + c;
                        if (detail::is_ignored_value(t[i], ignore)) continue;
                        ++counted;
                        const double q = mask_probability(z[i]), target = static_cast<double>(t[i]);
                        overlap[c] += q * target;
                        mass[c] += q + target;
                    }
                }
            }
            if (counted == 0) continue;  // nothing counted: no loss, no gradient

            // d(image loss)/dP_c at a counted value with target T is base_c + per_target_c * T.
            std::array<double, C> base, per_target;
            double score_sum = 0;
            for (std::size_t c = 0; c < C; ++c) {
                const double w = detail::class_weight(class_weights, c) / weights;
                if constexpr (Score == overlap_score::dice) {
                    const double denominator = mass[c] + smooth;
                    const double score = (2 * overlap[c] + smooth) / denominator;
                    score_sum += w * score;
                    base[c] = w * score / denominator;
                    per_target[c] = -2 * w / denominator;
                } else {
                    const double uni = mass[c] - overlap[c] + smooth;
                    const double score = (overlap[c] + smooth) / uni;
                    score_sum += w * score;
                    base[c] = w * score / uni;
                    per_target[c] = -w * (1 + score) / uni;
                }
            }
            total += 1 - score_sum;
            if (!g) continue;

            const double scale = static_cast<double>(grad_scale);
            for (std::size_t px = 0; px < pixels; ++px) {
                if (by_class) {
                    const auto label = detail::class_label_of(t[px], ignore_label);
                    if (!label) continue;
                    std::array<double, C> slope = base;
                    slope[*label] += per_target[*label];
                    T* gp = g + px * C;
                    if (!from_logits) {
                        for (std::size_t c = 0; c < C; ++c) gp[c] = static_cast<T>(scale * slope[c]);
                        continue;
                    }
                    // Through the softmax: dL/dz_k = P_k (dL/dP_k - sum_c dL/dP_c P_c).
                    class_probabilities(z + px * C, p);
                    double mean_slope = 0;
                    for (std::size_t c = 0; c < C; ++c) mean_slope += slope[c] * p[c];
                    for (std::size_t c = 0; c < C; ++c)
                        gp[c] = static_cast<T>(scale * p[c] * (slope[c] - mean_slope));
                } else {
                    for (std::size_t c = 0; c < C; ++c) {
                        const std::size_t i = px * C + c;
                        if (detail::is_ignored_value(t[i], ignore)) continue;
                        double slope = base[c] + per_target[c] * static_cast<double>(t[i]);
                        if (from_logits) {  // through the sigmoid: dP/dz = P (1 - P)
                            const double q = detail::sigmoid(static_cast<double>(z[i]));
                            slope *= q * (1 - q);
                        }
                        g[i] = static_cast<T>(scale * slope);
                    }
                }
            }
        }
        return total;
    }

    template <class T>
    double accuracy_sum(const T*, const T*, std::size_t, std::size_t) const {
        return 0;
    }

private:
    double weight_sum() const {
        double sum = 0;
        for (std::size_t c = 0; c < C; ++c) sum += detail::class_weight(class_weights, c);
        return sum;
    }
    std::optional<double> ignored_value() const {
        if (!ignore_label) return std::nullopt;
        return static_cast<double>(*ignore_label);
    }
    template <class T>
    void class_probabilities(const T* z, std::array<double, C>& p) const {
        for (std::size_t c = 0; c < C; ++c) p[c] = static_cast<double>(z[c]);
        if (!from_logits) return;
        const double top = *std::max_element(p.begin(), p.end());
        double sum = 0;
        for (auto& v : p) sum += v = std::exp(v - top);
        for (auto& v : p) v /= sum;
    }
    template <class T>
    double mask_probability(T z) const {
        return from_logits ? detail::sigmoid(static_cast<double>(z)) : static_cast<double>(z);
    }
};

template <std::size_t H, std::size_t W, std::size_t C>
using dice = overlap_loss<H, W, C, overlap_score::dice>;
template <std::size_t H, std::size_t W, std::size_t C>
using jaccard = overlap_loss<H, W, C, overlap_score::jaccard>;

}  // namespace strata::loss
