// A segmentation data set made from a classification one: canvases holding
// a few garments (or digits, or any small grey images) at random positions
// and scales, each pixel labelled with the class of the garment covering it
// (class + 1) or background (0). A garment covers the pixels where its
// resized image exceeds a small threshold; later garments cover earlier
// ones, but only partly (max_overlap). Everything follows from the seed, and each canvas draws only from
// the source set it is given (build test canvases from test images).
//
// The result is an ordinary dataset: x (N, H, W, 1) in [0, 1], and y
// (N, H * W) holding each pixel's class index, row-major, so it slices,
// gathers and batches like any other.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../image/pixels.hpp"
#include "dataset.hpp"

namespace strata::data {

struct segmentation_options {
    std::size_t count = 1000;  // canvases
    std::size_t height = 64, width = 64;
    std::size_t min_objects = 1, max_objects = 4;
    double min_scale = 0.75, max_scale = 1.5;  // of the source image's side
    float threshold = 0.1f;                    // a garment's pixels: value above this after resizing
    // At most this share of a garment's pixels may cover garments placed
    // before it: a garment hidden behind others cannot be told apart. Up to
    // placement_attempts positions are drawn; if none qualifies, the one
    // covering least is kept. 1 allows any overlap.
    double max_overlap = 0.2;
    std::size_t placement_attempts = 20;
    std::uint64_t seed = 0;
};

// Where one garment went: the source sample, its class, its box.
struct placement {
    std::size_t source = 0, label = 0;
    std::size_t top = 0, left = 0, height = 0, width = 0;
};

struct segmentation_set {
    dataset<float> data;  // x (N, H, W, 1), y (N, H * W): 0 background, c + 1 for class c
    std::vector<std::vector<placement>> placed;  // per canvas, in paste order
    std::size_t classes = 0;                     // including background
};

namespace detail {

inline void check_segmentation_options(const dataset<float>& source, std::size_t source_classes,
                                       const segmentation_options& o) {
    const auto& in = source.x.shape();
    if (source.size() == 0 || in[3] != 1 || source.target_width() != 1)
        throw usage_error(
            "make_segmentation: the source must hold grey images (N, H, W, 1) with class-index targets");
    if (o.count == 0 || o.height == 0 || o.width == 0)
        throw usage_error("make_segmentation: count, height and width must be at least 1");
    if (o.min_objects == 0 || o.min_objects > o.max_objects)
        throw usage_error(
            "make_segmentation: objects per canvas must satisfy 1 <= min_objects <= max_objects");
    if (!(o.max_overlap >= 0 && o.max_overlap <= 1) || o.placement_attempts == 0)
        throw usage_error(
            "make_segmentation: max_overlap must be in [0, 1] and placement_attempts at least 1");
    if (!(o.min_scale > 0 && o.min_scale <= o.max_scale))
        throw usage_error("make_segmentation: scales must satisfy 0 < min_scale <= max_scale");
    const std::size_t largest =
        static_cast<std::size_t>(std::lround(o.max_scale * static_cast<double>(std::max(in[1], in[2]))));
    if (largest > o.height || largest > o.width)
        throw usage_error("make_segmentation: a garment at max_scale (" + std::to_string(largest) +
                          " pixels) does not fit a " + std::to_string(o.height) + "x" +
                          std::to_string(o.width) + " canvas");
    (void)class_counts(source, source_classes);  // validates every label
}

// Canvas number `index` (H x W values at canvas and mask, zeroed here): every
// draw comes from a generator keyed by the seed and the index alone.
inline std::vector<placement> paint_canvas(const dataset<float>& source, const segmentation_options& o,
                                           std::uint64_t index, float* canvas, float* mask) {
    const auto& in = source.x.shape();
    const std::size_t sample = in[1] * in[2];
    std::fill_n(canvas, o.height * o.width, 0.0f);
    std::fill_n(mask, o.height * o.width, 0.0f);
    rng draws(mix_keys(o.seed, 0x5e6, index));
    std::vector<placement> placed;
    const std::size_t objects = o.min_objects + draws.below(o.max_objects - o.min_objects + 1);
    for (std::size_t k = 0; k < objects; ++k) {
        placement p;
        p.source = draws.below(source.size());
        p.label = class_index(source.y.data() + p.source, 1);
        const double scale = draws.uniform(o.min_scale, o.max_scale);
        p.height = std::max<std::size_t>(
            1, static_cast<std::size_t>(std::lround(scale * static_cast<double>(in[1]))));
        p.width = std::max<std::size_t>(
            1, static_cast<std::size_t>(std::lround(scale * static_cast<double>(in[2]))));
        // Resized as 8-bit grey with Pillow's bilinear filter, like an image file would be.
        image::image8 garment{in[2], in[1], 1, std::vector<std::uint8_t>(sample)};
        const float* src = source.x.data() + p.source * sample;
        for (std::size_t i = 0; i < sample; ++i)
            garment.pixels[i] =
                static_cast<std::uint8_t>(std::lround(std::clamp(src[i], 0.0f, 1.0f) * 255.0f));
        const auto resized = image::resize(garment, p.width, p.height, image::interpolation::bilinear);
        const auto covers = [&](std::size_t y, std::size_t x) {
            return static_cast<float>(resized.pixels[y * p.width + x]) / 255.0f > o.threshold;
        };
        std::size_t own = 0;
        for (std::size_t y = 0; y < p.height; ++y)
            for (std::size_t x = 0; x < p.width; ++x) own += covers(y, x);
        const auto overlap_at = [&](std::size_t top, std::size_t left) {
            std::size_t hidden = 0;
            for (std::size_t y = 0; y < p.height; ++y)
                for (std::size_t x = 0; x < p.width; ++x)
                    hidden += covers(y, x) && mask[(top + y) * o.width + left + x] != 0.0f;
            return hidden;
        };
        std::size_t least = own + 1;
        for (std::size_t attempt = 0; attempt < o.placement_attempts; ++attempt) {
            const std::size_t top = draws.below(o.height - p.height + 1);
            const std::size_t left = draws.below(o.width - p.width + 1);
            const std::size_t hidden = overlap_at(top, left);
            if (hidden < least) least = hidden, p.top = top, p.left = left;
            if (static_cast<double>(hidden) <= o.max_overlap * static_cast<double>(own)) break;
        }
        for (std::size_t y = 0; y < p.height; ++y)
            for (std::size_t x = 0; x < p.width; ++x) {
                const float v = static_cast<float>(resized.pixels[y * p.width + x]) / 255.0f;
                if (v <= o.threshold) continue;
                const std::size_t at = (p.top + y) * o.width + p.left + x;
                canvas[at] = v;
                mask[at] = static_cast<float>(p.label + 1);
            }
        placed.push_back(p);
    }
    return placed;
}

}  // namespace detail

// Canvases from `source` (grey images in [0, 1], class-index targets below
// `source_classes`).
inline segmentation_set make_segmentation(const dataset<float>& source, std::size_t source_classes,
                                          const segmentation_options& o) {
    detail::check_segmentation_options(source, source_classes, o);
    segmentation_set out;
    out.classes = source_classes + 1;
    out.data.x = xt::xtensor<float, 4>::from_shape({o.count, o.height, o.width, 1});
    out.data.y = xt::xtensor<float, 2>::from_shape({o.count, o.height * o.width});
    out.placed.resize(o.count);
    const std::size_t pixels = o.height * o.width;
    for (std::size_t n = 0; n < o.count; ++n)
        out.placed[n] = detail::paint_canvas(source, o, n, out.data.x.data() + n * pixels,
                                             out.data.y.data() + n * pixels);
    return out;
}

// The same canvases made as training reads them, fresh every epoch: canvas
// i of epoch e (from 1) is canvas (e - 1) * count + i of the seed's sequence,
// so epoch 1 gives make_segmentation's canvases and each later epoch count
// new ones, without holding any. fit calls begin_epoch; reading outside fit
// gives epoch 1. It keeps a reference to `source`, which must outlive it.
class segmentation_source {
public:
    segmentation_source(const dataset<float>& source, std::size_t source_classes, segmentation_options o)
        : source_(source), options_(o) {
        detail::check_segmentation_options(source, source_classes, o);
    }
    segmentation_source(dataset<float>&&, std::size_t, segmentation_options) = delete;  // would dangle

    std::size_t size() const noexcept { return options_.count; }
    std::size_t sample_size() const noexcept { return options_.height * options_.width; }
    std::size_t target_width() const noexcept { return options_.height * options_.width; }
    void begin_epoch(std::size_t epoch) const noexcept { epoch_ = epoch == 0 ? 1 : epoch; }

    void gather(std::span<const std::size_t> indices, float* x, float* y) const {
        const std::size_t pixels = sample_size();
        const std::uint64_t first = (epoch_ - 1) * options_.count;
        for (std::size_t k = 0; k < indices.size(); ++k) {
            if (indices[k] >= options_.count)
                throw usage_error("segmentation_source: canvas " + std::to_string(indices[k]) + " of " +
                                  std::to_string(options_.count));
            (void)detail::paint_canvas(source_, options_, first + indices[k], x + k * pixels, y + k * pixels);
        }
    }

private:
    const dataset<float>& source_;
    segmentation_options options_;
    mutable std::size_t epoch_ = 1;  // a training pass sets it; gathering reads it
};

}  // namespace strata::data
