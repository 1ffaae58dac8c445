// Geometric transforms with Keras' ImageDataGenerator ranges. Each draws its
// parameters from the sample's stream (draw, public so tools can show them)
// and returns the map they make (transform.hpp); the pipeline multiplies the
// maps of neighbouring transforms in the order written, so rotation, shift,
// shear, zoom in that order is ImageDataGenerator's composition, and resamples
// each sample once.
#pragma once

#include <cstdint>

#include "transform.hpp"

namespace strata::augment {

namespace detail {
// An angle drawn uniformly in [-degrees, degrees]; each transform states its
// own limit and the affine map the angle makes.
template <affine (*Map)(double)>
class symmetric_angle {
public:
    symmetric_angle(double degrees, double limit, bool limit_excluded, const char* transform,
                    const char* expected)
        : degrees_(require_range(degrees, 0, limit, limit_excluded, transform, "degrees", expected)) {}

    double degrees() const noexcept { return degrees_; }
    double draw(rng& r) const noexcept { return r.uniform(-degrees_, degrees_); }
    affine map(rng& r, image_shape) const noexcept { return Map(draw(r)); }

private:
    double degrees_;
};
}  // namespace detail

// Angle uniform in [-degrees, degrees]; positive turns counter-clockwise.
class random_rotation : public detail::symmetric_angle<&affine::rotation> {
public:
    explicit random_rotation(double degrees)
        : symmetric_angle(degrees, 180, false, "random_rotation", "in [0, 180]") {}
};

// Content moves by dx uniform in [-width * W, width * W] pixels (W the image
// width) and dy likewise with height; random_shift::pixels(dx, dy) draws
// whole pixels in [-dx, dx] x [-dy, dy] instead, which never blur.
class random_shift {
public:
    struct amount {
        double dx, dy;  // pixels, right and down
    };

    explicit random_shift(double fraction) : random_shift(fraction, fraction) {}
    random_shift(double width, double height)
        : width_(check_fraction(width, "width")), height_(check_fraction(height, "height")) {}

    static random_shift pixels(int dx, int dy) {
        if (dx < 0) detail::bad_parameter("random_shift::pixels", "dx", "a whole number of pixels >= 0", dx);
        if (dy < 0) detail::bad_parameter("random_shift::pixels", "dy", "a whole number of pixels >= 0", dy);
        random_shift s(0, 0);
        s.in_pixels_ = true;
        s.width_ = dx;
        s.height_ = dy;
        return s;
    }

    bool in_pixels() const noexcept { return in_pixels_; }
    double width() const noexcept { return width_; }    // a fraction, or pixels when in_pixels()
    double height() const noexcept { return height_; }  // likewise

    amount draw(rng& r, image_shape s) const noexcept {
        if (in_pixels_) return {whole(r, width_), whole(r, height_)};
        return {r.uniform(-width_, width_) * static_cast<double>(s.width),
                r.uniform(-height_, height_) * static_cast<double>(s.height)};
    }
    affine map(rng& r, image_shape s) const noexcept {
        const amount a = draw(r, s);
        return affine::shift(a.dx, a.dy);
    }

private:
    static double check_fraction(double f, const char* parameter) {
        return detail::require_range(
            f, 0, 1, false, "random_shift", parameter,
            "a fraction of the image size in [0, 1] (random_shift::pixels takes pixels)");
    }
    static double whole(rng& r, double max) noexcept {
        const auto m = static_cast<std::uint64_t>(max);
        return static_cast<double>(r.below(2 * m + 1)) - max;
    }

    double width_, height_;
    bool in_pixels_ = false;
};

// Shear angle uniform in [-degrees, degrees], ImageDataGenerator's matrix.
class random_shear : public detail::symmetric_angle<&affine::shear> {
public:
    explicit random_shear(double degrees)
        : symmetric_angle(degrees, 90, true, "random_shear", "in [0, 90)") {}
};

// Keras' zoom factor in [1 - range, 1 + range] (below 1 enlarges). One range
// scales both axes by one factor, keeping the aspect ratio; two ranges draw
// independent factors per axis, as ImageDataGenerator does (random_zoom{z, z}
// is its zoom_range = z).
class random_zoom {
public:
    struct factors {
        double x, y;
    };

    explicit random_zoom(double range) : x_range_(check(range, "range")), y_range_(x_range_), same_(true) {}
    random_zoom(double x_range, double y_range)
        : x_range_(check(x_range, "x_range")), y_range_(check(y_range, "y_range")), same_(false) {}

    double x_range() const noexcept { return x_range_; }
    double y_range() const noexcept { return y_range_; }
    bool keeps_aspect() const noexcept { return same_; }

    factors draw(rng& r) const noexcept {
        const double x = r.uniform(1 - x_range_, 1 + x_range_);
        return {x, same_ ? x : r.uniform(1 - y_range_, 1 + y_range_)};
    }
    affine map(rng& r, image_shape) const noexcept {
        const factors f = draw(r);
        return affine::zoom(f.x, f.y);
    }

private:
    static double check(double range, const char* parameter) {
        return detail::require_range(range, 0, 1, true, "random_zoom", parameter,
                                     "in [0, 1), so that the smallest zoom factor 1 - range stays above 0");
    }

    double x_range_, y_range_;
    bool same_;
};

namespace detail {
inline double check_probability(double p, const char* transform) {
    return require_range(p, 0, 1, false, transform, "probability", "in [0, 1]");
}
}  // namespace detail

// Mirrors left-right with the given probability.
class horizontal_flip {
public:
    explicit horizontal_flip(double probability = 0.5)
        : p_(detail::check_probability(probability, "horizontal_flip")) {}

    double probability() const noexcept { return p_; }
    bool draw(rng& r) const noexcept { return r.uniform() < p_; }
    affine map(rng& r, image_shape) const noexcept { return affine::flip(draw(r), false); }

private:
    double p_;
};

// Mirrors top-bottom with the given probability.
class vertical_flip {
public:
    explicit vertical_flip(double probability = 0.5)
        : p_(detail::check_probability(probability, "vertical_flip")) {}

    double probability() const noexcept { return p_; }
    bool draw(rng& r) const noexcept { return r.uniform() < p_; }
    affine map(rng& r, image_shape) const noexcept { return affine::flip(false, draw(r)); }

private:
    double p_;
};

}  // namespace strata::augment
