// Standardisation as pipeline elements, Keras' ImageDataGenerator formulas:
// feature-wise (per-channel statistics fitted once on training data, like
// featurewise_center + featurewise_std_normalization) and sample-wise (each
// sample's own mean and std, like samplewise_center + samplewise_std_normalization).
// Both compute (x - mean) / (std + 1e-6); the epsilon keeps constant images finite.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../data/dataset.hpp"
#include "transform.hpp"

namespace strata::augment {

// Which halves of the standardisation to apply.
struct normalization_options {
    bool center = true;  // subtract the mean
    bool scale = true;   // divide by std + epsilon
};

// Per-channel mean and population std over every pixel of every sample given
// to fit. Fit on the data as it reaches this element: if a rescale comes
// first in the pipeline, fit on rescaled data.
class feature_normalization {
public:
    static constexpr double epsilon = 1e-6;

    explicit feature_normalization(normalization_options o = {}) : options_(o) {}
    // Known statistics, one value per channel.
    feature_normalization(std::vector<double> mean, std::vector<double> stddev, normalization_options o = {})
        : options_(o), mean_(std::move(mean)), std_(std::move(stddev)) {
        if (mean_.empty() || mean_.size() != std_.size()) {
            throw std::invalid_argument(
                "augment::feature_normalization: mean and stddev must hold one value per "
                "channel, got " +
                std::to_string(mean_.size()) + " and " + std::to_string(std_.size()));
        }
        for (double m : mean_) detail::require_finite(m, "feature_normalization", "mean");
        for (double v : std_) {
            detail::require_range(v, 0, std::numeric_limits<double>::max(), false, "feature_normalization",
                                  "stddev", "a finite number >= 0");
        }
    }

    template <class T>
    void fit(const data::dataset<T>& d) {
        const auto& xs = d.x.shape();
        fit(d.x.data(), xs[0], image_shape{xs[1], xs[2], xs[3]});
    }

    // n samples of shape s, back to back.
    template <class T>
    void fit(const T* x, std::size_t n, image_shape s) {
        detail::require_shape(s, "augment::feature_normalization::fit");
        if (n == 0) throw usage_error("augment::feature_normalization::fit: no samples to fit on");
        std::vector<double> mean(s.channels), stddev(s.channels);
        for (std::size_t c = 0; c < s.channels; ++c)
            detail::channel_moments(x + c, n * s.pixels(), s.channels, mean[c], stddev[c]);
        mean_ = std::move(mean);
        std_ = std::move(stddev);
    }

    bool fitted() const noexcept { return !mean_.empty(); }
    const std::vector<double>& mean() const noexcept { return mean_; }
    const std::vector<double>& stddev() const noexcept { return std_; }
    normalization_options options() const noexcept { return options_; }

    template <class T>
    void apply(T* x, image_shape s, rng&) const {
        if (!fitted()) {
            throw usage_error(
                "augment::feature_normalization: no statistics: call fit(training data) first, or "
                "construct it with the mean and stddev");
        }
        if (s.channels != mean_.size()) {
            throw usage_error("augment::feature_normalization: fitted on " + std::to_string(mean_.size()) +
                              " channels, but the images have " + std::to_string(s.channels));
        }
        for (std::size_t c = 0; c < s.channels; ++c) {
            const double sub = options_.center ? mean_[c] : 0.0;
            const double mul = options_.scale ? 1 / (std_[c] + epsilon) : 1.0;
            detail::affine_channel(x, s.pixels(), s.channels, c, sub, mul, 0.0);
        }
    }

private:
    normalization_options options_;
    std::vector<double> mean_, std_;
};

// Mean and population std over the whole sample (all channels), per sample.
class samplewise_normalization {
public:
    static constexpr double epsilon = 1e-6;

    explicit samplewise_normalization(normalization_options o = {}) : options_(o) {}

    normalization_options options() const noexcept { return options_; }

    template <class T>
    void apply(T* x, image_shape s, rng&) const noexcept {
        double mean, stddev;
        detail::channel_moments(x, s.size(), 1, mean, stddev);
        const double sub = options_.center ? mean : 0.0;
        const double mul = options_.scale ? 1 / (stddev + epsilon) : 1.0;
        detail::affine_channel(x, s.size(), 1, 0, sub, mul, 0.0);
    }

private:
    normalization_options options_;
};

}  // namespace strata::augment
