// 8-bit images as decoders give them, and the two steps between a decoded
// file and a network's input: colour conversion and resizing. Both follow
// Pillow (which Keras' image loaders call) to the bit: the same luma
// weights, the same fixed-point filters, the same premultiplied alpha, so a
// folder loaded here matches one loaded with flow_from_directory.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/error.hpp"

namespace strata::image {

// Pixels row-major, channels interleaved: 1 grey (Pillow's L), 2 grey+alpha
// (LA), 3 RGB, 4 RGBA.
struct image8 {
    std::size_t width = 0, height = 0, channels = 0;
    std::vector<std::uint8_t> pixels;
};

enum class color_mode { grayscale, rgb, rgba };
enum class interpolation { nearest, bilinear, area };

constexpr std::size_t channels_of(color_mode m) noexcept {
    return m == color_mode::grayscale ? 1 : m == color_mode::rgb ? 3 : 4;
}

namespace detail {

// ITU-R 601-2 luma in Pillow's 16-bit fixed point.
inline std::uint8_t luma(std::uint8_t r, std::uint8_t g, std::uint8_t b) noexcept {
    return static_cast<std::uint8_t>((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

inline std::uint8_t mul_div_255(unsigned a, unsigned b) noexcept {
    const unsigned t = a * b + 128;
    return static_cast<std::uint8_t>(((t >> 8) + t) >> 8);
}

}  // namespace detail

// Pillow's convert("L" / "RGB" / "RGBA"): grey from colour by luma, alpha
// dropped without compositing, added as opaque.
inline image8 convert(const image8& in, color_mode mode) {
    const std::size_t out_c = channels_of(mode), in_c = in.channels;
    if (in_c < 1 || in_c > 4) throw usage_error("image::convert: an image must have 1 to 4 channels");
    if (in_c == out_c) return in;
    image8 out{in.width, in.height, out_c, std::vector<std::uint8_t>(in.width * in.height * out_c)};
    const std::size_t n = in.width * in.height;
    const std::uint8_t* src = in.pixels.data();
    std::uint8_t* dst = out.pixels.data();
    const bool colour = in_c >= 3, has_alpha = in_c == 2 || in_c == 4;
    for (std::size_t i = 0; i < n; ++i, src += in_c, dst += out_c) {
        const std::uint8_t r = src[0], g = colour ? src[1] : src[0], b = colour ? src[2] : src[0];
        const std::uint8_t a = has_alpha ? src[in_c - 1] : 255;
        if (out_c == 1) {
            dst[0] = colour ? detail::luma(r, g, b) : r;
        } else {
            dst[0] = r, dst[1] = g, dst[2] = b;
            if (out_c == 4) dst[3] = a;
        }
    }
    return out;
}

namespace detail {

// Pillow's resampling coefficients for one axis (Resample.c): a filter of
// support `support` stretched by the scale when shrinking, normalised, then
// rounded to 22-bit fixed point.
struct axis_coefficients {
    std::size_t taps = 0;
    std::vector<int> first, count;
    std::vector<std::int32_t> weights;  // taps per output position
};

constexpr int precision_bits = 32 - 8 - 2;

template <class Filter>
axis_coefficients coefficients(std::size_t in_size, std::size_t out_size, double support, Filter filter) {
    const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
    const double filter_scale = std::max(scale, 1.0);
    support *= filter_scale;
    axis_coefficients c;
    c.taps = static_cast<std::size_t>(std::ceil(support)) * 2 + 1;
    c.first.resize(out_size);
    c.count.resize(out_size);
    c.weights.assign(out_size * c.taps, 0);
    std::vector<double> w(c.taps);
    const double inverse = 1.0 / filter_scale;
    for (std::size_t o = 0; o < out_size; ++o) {
        const double center = (static_cast<double>(o) + 0.5) * scale;
        const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
        const int hi = std::min(static_cast<int>(center + support + 0.5), static_cast<int>(in_size));
        const int count = hi - lo;
        double sum = 0;
        for (int k = 0; k < count; ++k) {
            w[k] = filter((k + lo - center + 0.5) * inverse);
            sum += w[k];
        }
        for (int k = 0; k < count; ++k) {
            const double v = sum != 0.0 ? w[k] / sum : w[k];
            c.weights[o * c.taps + k] = static_cast<std::int32_t>(v < 0 ? -0.5 + v * (1 << precision_bits)
                                                                        : 0.5 + v * (1 << precision_bits));
        }
        c.first[o] = lo;
        c.count[o] = count;
    }
    return c;
}

inline std::uint8_t clip8(std::int32_t v) noexcept {
    if (v >= (1 << precision_bits << 8)) return 255;
    if (v <= 0) return 0;
    return static_cast<std::uint8_t>(v >> precision_bits);
}

// One separable pass; `stride` steps between taps (channels along a row,
// a row's length down a column).
inline image8 resample_axis(const image8& in, std::size_t out_w, std::size_t out_h, bool horizontal,
                            const axis_coefficients& c) {
    const std::size_t ch = in.channels;
    image8 out{out_w, out_h, ch, std::vector<std::uint8_t>(out_w * out_h * ch)};
    for (std::size_t y = 0; y < out_h; ++y)
        for (std::size_t x = 0; x < out_w; ++x) {
            const std::size_t o = horizontal ? x : y;
            const std::int32_t* k = c.weights.data() + o * c.taps;
            const int first = c.first[o], count = c.count[o];
            for (std::size_t p = 0; p < ch; ++p) {
                std::int32_t sum = 1 << (precision_bits - 1);
                for (int t = 0; t < count; ++t) {
                    const std::size_t sx = horizontal ? static_cast<std::size_t>(first + t) : x;
                    const std::size_t sy = horizontal ? y : static_cast<std::size_t>(first + t);
                    sum += in.pixels[(sy * in.width + sx) * ch + p] * k[t];
                }
                out.pixels[(y * out_w + x) * ch + p] = clip8(sum);
            }
        }
    return out;
}

// Pillow's NEAREST: an affine map whose source coordinate is accumulated by
// repeated addition, as ImagingScaleAffine does (the rounding matters).
inline std::vector<std::size_t> nearest_sources(std::size_t in_size, std::size_t out_size) {
    const double step = static_cast<double>(in_size) / static_cast<double>(out_size);
    std::vector<std::size_t> src(out_size);
    double pos = step * 0.5;
    for (std::size_t o = 0; o < out_size; ++o, pos += step)
        src[o] = std::min(static_cast<std::size_t>(pos < 0 ? 0 : pos), in_size - 1);
    return src;
}

}  // namespace detail

// Pillow's Image.resize(size, NEAREST | BILINEAR | BOX) ("area" is BOX);
// with alpha, the filters work on premultiplied colour as Pillow's do.
inline image8 resize(const image8& in, std::size_t width, std::size_t height, interpolation how) {
    if (width == 0 || height == 0) throw usage_error("image::resize: the target size must be at least 1x1");
    if (in.width == 0 || in.height == 0) throw usage_error("image::resize: the image is empty");
    if (in.width == width && in.height == height) return in;
    const std::size_t ch = in.channels;
    if (how == interpolation::nearest) {
        const auto xs = detail::nearest_sources(in.width, width),
                   ys = detail::nearest_sources(in.height, height);
        image8 out{width, height, ch, std::vector<std::uint8_t>(width * height * ch)};
        for (std::size_t y = 0; y < height; ++y)
            for (std::size_t x = 0; x < width; ++x)
                std::copy_n(in.pixels.data() + (ys[y] * in.width + xs[x]) * ch, ch,
                            out.pixels.data() + (y * width + x) * ch);
        return out;
    }
    const bool alpha = ch == 2 || ch == 4;
    image8 work = in;
    if (alpha) {
        for (std::size_t i = 0; i < work.pixels.size(); i += ch)
            for (std::size_t p = 0; p + 1 < ch; ++p)
                work.pixels[i + p] = detail::mul_div_255(work.pixels[i + p], work.pixels[i + ch - 1]);
    }
    auto bilinear = [](double x) { return x < 0 ? (x > -1 ? 1 + x : 0.0) : (x < 1 ? 1 - x : 0.0); };
    auto box = [](double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; };
    const double support = how == interpolation::bilinear ? 1.0 : 0.5;
    auto coefficients = [&](std::size_t in_size, std::size_t out_size) {
        return how == interpolation::bilinear ? detail::coefficients(in_size, out_size, support, bilinear)
                                              : detail::coefficients(in_size, out_size, support, box);
    };
    if (work.width != width)
        work = detail::resample_axis(work, width, work.height, true, coefficients(in.width, width));
    if (work.height != height)
        work = detail::resample_axis(work, width, height, false, coefficients(in.height, height));
    if (alpha) {
        for (std::size_t i = 0; i < work.pixels.size(); i += ch) {
            const unsigned a = work.pixels[i + ch - 1];
            if (a == 0 || a == 255) continue;
            for (std::size_t p = 0; p + 1 < ch; ++p)
                work.pixels[i + p] = static_cast<std::uint8_t>(std::min(255u, 255u * work.pixels[i + p] / a));
        }
    }
    return work;
}

}  // namespace strata::image
