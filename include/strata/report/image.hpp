// The report's pictures: captioned 8-bit grey or RGB images, made from a
// network's float values, and the test samples a classifier got wrong with
// the most confidence.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../metrics/metrics.hpp"
#include "png.hpp"

namespace strata::report {

struct image {
    std::size_t width = 0, height = 0;
    std::size_t channels = 1;          // 1: grey, 3: RGB
    std::vector<std::uint8_t> pixels;  // row by row, channels interleaved
    std::string caption;

    std::vector<std::uint8_t> png() const {
        if (channels == 1) return encode_png_grey(pixels, width, height);
        if (channels == 3) return encode_png_rgb(pixels, width, height);
        throw usage_error("report::image: " + std::to_string(channels) +
                          " channels; the report shows grey (1) or RGB (3) images");
    }
};

// The values that map to black and to white (or full colour).
struct value_range {
    double low = 0, high = 1;
};

// An image from height x width x channels values (channels last, as strata's
// samples are). Values are scaled from `range` to 0..255 and clipped; without
// a range, from the image's own minimum and maximum (a constant image is
// black), which suits feature maps. NaN shows as black.
template <class T>
image to_image(std::span<const T> values, std::size_t height, std::size_t width, std::size_t channels,
               std::string caption, std::optional<value_range> range = std::nullopt) {
    if (channels != 1 && channels != 3)
        throw usage_error("report::to_image: " + std::to_string(channels) +
                          " channels; the report shows grey (1) or RGB (3) images");
    if (values.size() != height * width * channels)
        throw usage_error("report::to_image: " + std::to_string(values.size()) + " values for a " +
                          std::to_string(height) + " x " + std::to_string(width) + " x " +
                          std::to_string(channels) + " image");
    value_range r{0, 0};
    if (range) {
        r = *range;
    } else {
        bool first = true;
        for (const T v : values) {
            const double d = static_cast<double>(v);
            if (!std::isfinite(d)) continue;
            r.low = first ? d : std::min(r.low, d);
            r.high = first ? d : std::max(r.high, d);
            first = false;
        }
    }
    if (!(r.high >= r.low))
        throw usage_error("report::to_image: the value range's high end is below its low end");
    const double scale = r.high > r.low ? 255.0 / (r.high - r.low) : 0.0;
    image out{width, height, channels, {}, std::move(caption)};
    out.pixels.reserve(values.size());
    for (const T v : values) {
        const double d = (static_cast<double>(v) - r.low) * scale;
        out.pixels.push_back(std::isfinite(d)
                                 ? static_cast<std::uint8_t>(std::clamp(std::lround(d), 0L, 255L))
                                 : std::uint8_t{0});
    }
    return out;
}

// A sample the classifier got wrong, and how sure it was.
struct wrong_prediction {
    std::size_t index = 0;  // row in the predictions
    std::size_t truth = 0, predicted = 0;
    double confidence = 0;  // the predicted class's probability
};

// The k wrong predictions with the highest confidence, most confident first
// (ties: lower index first). Logits are turned into probabilities (softmax,
// or the sigmoid for one output) so that samples compare.
template <class T>
std::vector<wrong_prediction> confidently_wrong(const metrics::predictions<T>& p, std::size_t k,
                                                bool from_logits) {
    std::vector<wrong_prediction> wrong;
    for (std::size_t i = 0; i < p.count; ++i) {
        const std::size_t truth = p.label(i), predicted = p.predicted(i);
        if (truth == predicted) continue;
        const T* o = p.outputs.data() + i * p.width;
        double confidence = 0;
        if (p.width == 1) {
            const double score = from_logits ? 1 / (1 + std::exp(-static_cast<double>(*o))) : *o;
            confidence = predicted == 1 ? score : 1 - score;
        } else if (from_logits) {
            const double top = static_cast<double>(o[predicted]);
            double sum = 0;
            for (std::size_t c = 0; c < p.width; ++c) sum += std::exp(static_cast<double>(o[c]) - top);
            confidence = 1 / sum;
        } else {
            confidence = static_cast<double>(o[predicted]);
        }
        if (!std::isfinite(confidence)) continue;  // NaN outputs rank nowhere; the diagnosis reports them
        wrong.push_back({i, truth, predicted, confidence});
    }
    const std::size_t kept = std::min(k, wrong.size());
    std::partial_sort(wrong.begin(), wrong.begin() + static_cast<std::ptrdiff_t>(kept), wrong.end(),
                      [](const wrong_prediction& a, const wrong_prediction& b) {
                          return a.confidence != b.confidence ? a.confidence > b.confidence
                                                              : a.index < b.index;
                      });
    wrong.resize(kept);
    return wrong;
}

}  // namespace strata::report
