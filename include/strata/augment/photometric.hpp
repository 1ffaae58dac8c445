// Transforms of pixel values, in place on one sample: rescale, brightness and
// contrast (tf.image's formulas). Values are not clipped afterwards, as in
// tf.image: clip in a transform of your own if the data needs a fixed range.
#pragma once

#include <cstddef>
#include <limits>

#include "transform.hpp"

namespace strata::augment {

// x * factor (Keras' rescale=1/255).
class rescale {
public:
    explicit rescale(double factor) : factor_(detail::require_finite(factor, "rescale", "factor")) {}

    double factor() const noexcept { return factor_; }

    template <class T>
    void apply(T* x, image_shape s, rng&) const noexcept {
        const T k = static_cast<T>(factor_);
        simd::transform(x, x, s.size(), [k](auto v) { return v * decltype(v)(k); });
    }

private:
    double factor_;
};

// x + delta, one delta per sample uniform in [-max_delta, max_delta] and the
// same for every channel: tf.image.random_brightness' additive formula (not
// ImageDataGenerator's multiplicative brightness_range).
class random_brightness {
public:
    explicit random_brightness(double max_delta)
        : max_delta_(detail::require_range(max_delta, 0, std::numeric_limits<double>::max(), false,
                                           "random_brightness", "max_delta", "a finite number >= 0")) {}

    double max_delta() const noexcept { return max_delta_; }
    double draw(rng& r) const noexcept { return r.uniform(-max_delta_, max_delta_); }

    template <class T>
    void apply(T* x, image_shape s, rng& r) const noexcept {
        const T delta = static_cast<T>(draw(r));
        simd::transform(x, x, s.size(), [delta](auto v) { return v + decltype(v)(delta); });
    }

private:
    double max_delta_;
};

// (x - mean_c) * f + mean_c with mean_c the sample's mean of channel c and one
// factor f per sample uniform in [lower, upper]: tf.image.random_contrast.
class random_contrast {
public:
    random_contrast(double lower, double upper)
        : lower_(detail::require_range(lower, 0, std::numeric_limits<double>::max(), false, "random_contrast",
                                       "lower", "a finite number >= 0")),
          upper_(detail::require_range(upper, lower, std::numeric_limits<double>::max(), false,
                                       "random_contrast", "upper", "finite and >= lower")) {}

    double lower() const noexcept { return lower_; }
    double upper() const noexcept { return upper_; }
    double draw(rng& r) const noexcept { return r.uniform(lower_, upper_); }

    template <class T>
    void apply(T* x, image_shape s, rng& r) const noexcept {
        const double f = draw(r);
        for (std::size_t c = 0; c < s.channels; ++c) {
            const double mean = detail::channel_mean(x + c, s.pixels(), s.channels);
            detail::affine_channel(x, s.pixels(), s.channels, c, mean, f, mean);
        }
    }

private:
    double lower_, upper_;
};

}  // namespace strata::augment
