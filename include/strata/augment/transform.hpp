// The ground every augmentation stands on: the run-time image shape, the
// affine maps geometric transforms compose into, the resampler that applies
// one map per sample, and the `strata::augmentation` concept a user's own
// transform satisfies to join an augment::pipeline.
//
// An augmentation A (for scalar type T) is exactly one of
//   a sample transform:
//     void apply(T* sample, augment::image_shape s, strata::rng& r) const;
//       changes one sample (s.size() values, NHWC) in place;
//   a geometric transform:
//     augment::affine map(strata::rng& r, augment::image_shape s) const;
//       returns its output-to-input map about the image centre; the pipeline
//       multiplies the maps of neighbouring geometric transforms and resamples
//       each sample once, with the pipeline's augment::sampling settings;
//       the map may use s.height and s.width, not s.channels (masks share
//       the map and have channels of their own).
// A sample transform that moves pixels also gives apply_to_mask
// (augment::mask_transform) so that segmentation masks follow.
// r is this sample's own stream for this element (augment::sample_stream), so
// results depend on the seed and the sample's index, never on threads. Check
// ranges in the constructor; apply and map are called from several threads
// on one object at once, so they must not change it.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <sstream>
#include <stdexcept>
#include <string>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/simd.hpp"

namespace strata::augment {

// One sample's shape, known at run time: NHWC with any channel count.
struct image_shape {
    std::size_t height = 0;
    std::size_t width = 0;
    std::size_t channels = 0;

    constexpr std::size_t pixels() const noexcept { return height * width; }
    constexpr std::size_t size() const noexcept { return height * width * channels; }
    friend constexpr bool operator==(const image_shape&, const image_shape&) = default;
};

enum class interpolation { nearest, bilinear };

// Where a map reads outside the image, as Keras' fill_mode (input abcd):
//   nearest   aaaa|abcd|dddd
//   constant  kkkk|abcd|kkkk   k = sampling::fill_value
//   reflect   dcba|abcd|dcba   scipy.ndimage's 'reflect': the edge pixel repeats
//   wrap      abcd|abcd|abcd   period = size (scipy's 'grid-wrap')
// Bilinear sampling folds each of its four neighbours on its own, so a
// constant fill blends into the border over one pixel, as tf.keras' layers
// (and scipy's 'grid-constant') do.
enum class fill_mode { nearest, constant, reflect, wrap };

// How a pipeline resamples: put one augment::sampling{...} anywhere in the
// pipeline to change it; without one, bilinear with Keras' default fill.
struct sampling {
    augment::interpolation interpolation = augment::interpolation::bilinear;
    fill_mode fill = fill_mode::nearest;
    double fill_value = 0;
};

// An output-to-input map in pixel units about the image centre
// ((width - 1) / 2, (height - 1) / 2), x along columns, y down the rows:
// output pixel (x, y) reads the input at (a x + b y + tx, c x + d y + ty).
// Maps compose like the operations they describe: p * q is "p's operation
// on the image, then q's" (as Keras multiplies rotation * shift * shear * zoom).
struct affine {
    double a = 1, b = 0, tx = 0;
    double c = 0, d = 1, ty = 0;

    friend constexpr affine operator*(const affine& p, const affine& q) noexcept {
        return {p.a * q.a + p.b * q.c, p.a * q.b + p.b * q.d, p.a * q.tx + p.b * q.ty + p.tx,
                p.c * q.a + p.d * q.c, p.c * q.b + p.d * q.d, p.c * q.tx + p.d * q.ty + p.ty};
    }
    constexpr bool is_identity() const noexcept {
        return a == 1 && b == 0 && tx == 0 && c == 0 && d == 1 && ty == 0;
    }

    // Content turns counter-clockwise on screen by `degrees` (tf.keras'
    // RandomRotation; ImageDataGenerator's matrix with the angle negated):
    // 90 degrees gives out[r][c] = in[c][width - 1 - r] on a square image.
    static affine rotation(double degrees) noexcept;
    // Content moves right by dx and down by dy pixels: out(x, y) = in(x - dx, y - dy).
    static affine shift(double dx, double dy) noexcept { return {1, 0, -dx, 0, 1, -dy}; }
    // ImageDataGenerator's shear matrix: out(x, y) = in(cos(s) x, y - sin(s) x).
    static affine shear(double degrees) noexcept;
    // ImageDataGenerator's zoom factors: out(x, y) = in(zx x, zy y), so a
    // factor below 1 enlarges the content and above 1 shrinks it.
    static affine zoom(double zx, double zy) noexcept { return {zx, 0, 0, 0, zy, 0}; }
    static affine flip(bool horizontal, bool vertical) noexcept {
        return {horizontal ? -1.0 : 1.0, 0, 0, 0, vertical ? -1.0 : 1.0, 0};
    }
};

// Writes out = in read through m (in and out must not overlap).
template <class T>
void warp(const T* in, T* out, image_shape s, const affine& m, const sampling& how = {});

// The random stream of one element (position in its pipeline) for one sample.
inline rng sample_stream(std::uint64_t seed, std::size_t sample, std::size_t element) noexcept {
    return rng(mix_keys(seed, sample, element));
}

template <class A, class T>
concept sample_transform = requires(const A& a, T* x, image_shape s, rng& r) {
    a.apply(x, s, r);
};

template <class A>
concept geometric_transform = requires(const A& a, image_shape s, rng& r) {
    { a.map(r, s) } -> std::convertible_to<affine>;
};

// A sample transform that moves pixels (random_crop) also moves masks, for
// pipeline::apply_to_masks: apply_to_mask(mask, mask_shape, r, fill_label)
// with the same stream r, so it draws the same move. Sample transforms
// without it leave masks alone.
template <class A, class T>
concept mask_transform = requires(const A& a, T* m, image_shape s, rng& r, double fill_label) {
    a.apply_to_mask(m, s, r, fill_label);
};

}  // namespace strata::augment

namespace strata {

// Exactly one of the two kinds, so the pipeline never has to guess.
template <class A, class T = float>
concept augmentation = augment::sample_transform<A, T>
!= augment::geometric_transform<A>;

namespace detail {

// Names what a would-be augmentation lacks; one message per failure.
template <class A, class T>
constexpr bool check_augmentation() {
    constexpr bool sample = augment::sample_transform<A, T>, geometric = augment::geometric_transform<A>;
    static_assert(sample || geometric,
                  "strata::augmentation: the type has neither `void apply(T* sample, augment::image_shape, "
                  "strata::rng&) const` for this scalar type T (a sample transform) nor `augment::affine "
                  "map(strata::rng&, "
                  "augment::image_shape) const` (a geometric transform)");
    static_assert(!(sample && geometric),
                  "strata::augmentation: the type has both `apply` and `map`: a transform is either a sample "
                  "transform or a geometric one");
    return true;  // the failed assert above is the one message
}

}  // namespace detail

}  // namespace strata

namespace strata::augment::detail {

// Parameter checks for constructors: "augment::random_zoom: range must be in
// [0, 1) ..., got 1.5".
[[noreturn]] inline void bad_parameter(const char* transform, const char* parameter, const char* expected,
                                       double got) {
    std::ostringstream os;
    os << "augment::" << transform << ": " << parameter << " must be " << expected << ", got " << got;
    throw std::invalid_argument(os.str());
}

inline double require_finite(double v, const char* transform, const char* parameter) {
    if (!std::isfinite(v)) bad_parameter(transform, parameter, "a finite number", v);
    return v;
}

// lo <= v <= hi, or lo <= v < hi when hi_open.
inline double require_range(double v, double lo, double hi, bool hi_open, const char* transform,
                            const char* parameter, const char* expected) {
    if (!(v >= lo && (hi_open ? v < hi : v <= hi))) bad_parameter(transform, parameter, expected, v);
    return v;
}

inline void require_shape(image_shape s, const char* who) {
    if (s.height == 0 || s.width == 0 || s.channels == 0) {
        throw usage_error(std::string(who) + ": image shape (" + std::to_string(s.height) + ", " +
                          std::to_string(s.width) + ", " + std::to_string(s.channels) +
                          ") has a zero dimension; expected height, width and channels >= 1");
    }
}

// Exact at multiples of 90 degrees, so quarter turns move pixels without blur.
inline void sincos_degrees(double degrees, double& s, double& c) noexcept {
    const double quarters = degrees / 90;
    if (std::abs(quarters) < 1e15 && quarters == std::round(quarters)) {
        static constexpr double sines[] = {0, 1, 0, -1}, cosines[] = {1, 0, -1, 0};
        const auto k = static_cast<std::size_t>(((std::llround(quarters) % 4) + 4) % 4);
        s = sines[k];
        c = cosines[k];
        return;
    }
    const double radians = degrees * (std::numbers::pi / 180);
    s = std::sin(radians);
    c = std::cos(radians);
}

// An index into [0, n) for a neighbour that may lie outside; -1 asks for the fill value.
inline std::ptrdiff_t fold_index(std::ptrdiff_t i, std::ptrdiff_t n, fill_mode f) noexcept {
    if (i >= 0 && i < n) return i;
    switch (f) {
        case fill_mode::nearest:
            return i < 0 ? 0 : n - 1;
        case fill_mode::reflect: {
            const std::ptrdiff_t k = ((i % (2 * n)) + 2 * n) % (2 * n);
            return k < n ? k : 2 * n - 1 - k;
        }
        case fill_mode::wrap:
            return ((i % n) + n) % n;
        case fill_mode::constant:
            break;
    }
    return -1;
}

// Trigonometry leaves ~1e-16 on maps that land on pixel centres (quarter
// turns, flips, integer shifts); snapping those makes them copy exactly.
inline double snap_coordinate(double v) noexcept {
    // Far outside is as good as 1e12 away, and NaN goes out rather than into a cast.
    if (!(std::abs(v) < 1e12)) return v > 0 ? 1e12 : -1e12;
    const double r = std::round(v);
    return std::abs(v - r) < 1e-9 ? r : v;
}

// (x - sub) * mul + add on one channel of an NHWC sample: SIMD when the
// channel is contiguous (single-channel images), strided otherwise.
template <class T>
void affine_channel(T* x, std::size_t pixels, std::size_t channels, std::size_t channel, double sub,
                    double mul, double add) noexcept {
    const T s = static_cast<T>(sub), m = static_cast<T>(mul), a = static_cast<T>(add);
    if (channels == 1) {
        simd::transform(x, x, pixels, [s, m, a](auto v) {
            using V = decltype(v);
            return (v - V(s)) * V(m) + V(a);
        });
        return;
    }
    for (std::size_t p = 0; p < pixels; ++p) {
        T& v = x[p * channels + channel];
        v = (v - s) * m + a;
    }
}

// Mean of count values stride apart (one channel of an NHWC sample), in double.
template <class T>
double channel_mean(const T* x, std::size_t count, std::size_t stride) noexcept {
    double sum = 0;
    for (std::size_t i = 0; i < count; ++i) sum += static_cast<double>(x[i * stride]);
    return sum / static_cast<double>(count);
}

// Mean and population standard deviation, two passes so large offsets cost no precision.
template <class T>
void channel_moments(const T* x, std::size_t count, std::size_t stride, double& mean,
                     double& stddev) noexcept {
    mean = channel_mean(x, count, stride);
    double squares = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const double d = static_cast<double>(x[i * stride]) - mean;
        squares += d * d;
    }
    stddev = std::sqrt(squares / static_cast<double>(count));
}

}  // namespace strata::augment::detail

namespace strata::augment {

inline affine affine::rotation(double degrees) noexcept {
    double s, c;
    detail::sincos_degrees(degrees, s, c);
    return {c, -s, 0, s, c, 0};
}

inline affine affine::shear(double degrees) noexcept {
    double s, c;
    detail::sincos_degrees(degrees, s, c);
    return {c, 0, 0, -s, 1, 0};
}

template <class T>
void warp(const T* in, T* out, image_shape s, const affine& m, const sampling& how) {
    detail::require_shape(s, "augment::warp");
    const auto h = static_cast<std::ptrdiff_t>(s.height), w = static_cast<std::ptrdiff_t>(s.width);
    const std::size_t channels = s.channels;
    const double cx = (static_cast<double>(w) - 1) / 2, cy = (static_cast<double>(h) - 1) / 2;
    const T fill = static_cast<T>(how.fill_value);
    const auto pixel = [&](std::ptrdiff_t y, std::ptrdiff_t x) -> const T* {
        return y < 0 || x < 0 ? nullptr : in + (static_cast<std::size_t>(y * w + x)) * channels;
    };
    for (std::ptrdiff_t r = 0; r < h; ++r) {
        const double y = static_cast<double>(r) - cy;
        for (std::ptrdiff_t col = 0; col < w; ++col) {
            const double x = static_cast<double>(col) - cx;
            const double xs = detail::snap_coordinate(m.a * x + m.b * y + m.tx + cx);
            const double ys = detail::snap_coordinate(m.c * x + m.d * y + m.ty + cy);
            T* o = out + static_cast<std::size_t>(r * w + col) * channels;
            if (how.interpolation == interpolation::nearest) {
                const auto xi = static_cast<std::ptrdiff_t>(std::floor(xs + 0.5));
                const auto yi = static_cast<std::ptrdiff_t>(std::floor(ys + 0.5));
                const T* p = pixel(detail::fold_index(yi, h, how.fill), detail::fold_index(xi, w, how.fill));
                for (std::size_t ch = 0; ch < channels; ++ch) o[ch] = p ? p[ch] : fill;
                continue;
            }
            const double x0 = std::floor(xs), y0 = std::floor(ys);
            const double fx = xs - x0, fy = ys - y0;
            const auto xi = static_cast<std::ptrdiff_t>(x0), yi = static_cast<std::ptrdiff_t>(y0);
            // Inside the image (the common case) all four neighbours exist: no folding.
            if (xi >= 0 && yi >= 0 && xi + 1 < w && yi + 1 < h) {
                const T* p00 = in + static_cast<std::size_t>(yi * w + xi) * channels;
                const T* p10 = p00 + static_cast<std::size_t>(w) * channels;
                const T w00 = static_cast<T>((1 - fx) * (1 - fy)), w01 = static_cast<T>(fx * (1 - fy));
                const T w10 = static_cast<T>((1 - fx) * fy), w11 = static_cast<T>(fx * fy);
                for (std::size_t ch = 0; ch < channels; ++ch)
                    o[ch] =
                        w00 * p00[ch] + w01 * p00[channels + ch] + w10 * p10[ch] + w11 * p10[channels + ch];
                continue;
            }
            const std::ptrdiff_t ix0 = detail::fold_index(xi, w, how.fill),
                                 iy0 = detail::fold_index(yi, h, how.fill);
            // A zero weight never reads its neighbour, so an edge pixel is not blended with the fill.
            const std::ptrdiff_t ix1 = fx > 0 ? detail::fold_index(xi + 1, w, how.fill) : ix0;
            const std::ptrdiff_t iy1 = fy > 0 ? detail::fold_index(yi + 1, h, how.fill) : iy0;
            const T* p00 = pixel(iy0, ix0);
            if (fx == 0 && fy == 0) {
                for (std::size_t ch = 0; ch < channels; ++ch) o[ch] = p00 ? p00[ch] : fill;
                continue;
            }
            const T *p01 = pixel(iy0, ix1), *p10 = pixel(iy1, ix0), *p11 = pixel(iy1, ix1);
            const T w00 = static_cast<T>((1 - fx) * (1 - fy)), w01 = static_cast<T>(fx * (1 - fy));
            const T w10 = static_cast<T>((1 - fx) * fy), w11 = static_cast<T>(fx * fy);
            for (std::size_t ch = 0; ch < channels; ++ch) {
                o[ch] = w00 * (p00 ? p00[ch] : fill) + w01 * (p01 ? p01[ch] : fill) +
                        w10 * (p10 ? p10[ch] : fill) + w11 * (p11 ? p11[ch] : fill);
            }
        }
    }
}

}  // namespace strata::augment
