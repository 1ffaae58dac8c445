// Transforms that move or blank whole pixels, so they never resample:
// random_crop (pad and crop, the CIFAR recipe) and cutout.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "transform.hpp"

namespace strata::augment {

namespace detail {

// out(x, y) = in(x - dx, y - dy) in place, fill where that lies outside. Rows
// run away from the side they read from, so no source row is overwritten first.
template <class T>
void shift_pixels(T* x, image_shape s, std::ptrdiff_t dx, std::ptrdiff_t dy, T fill) noexcept {
    const auto h = static_cast<std::ptrdiff_t>(s.height), w = static_cast<std::ptrdiff_t>(s.width);
    const std::size_t row_size = s.width * s.channels;
    const std::ptrdiff_t kept = std::max<std::ptrdiff_t>(0, w - std::abs(dx));
    const std::size_t left = static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(dx, 0, w)) * s.channels;
    for (std::ptrdiff_t k = 0; k < h; ++k) {
        const std::ptrdiff_t r = dy > 0 ? h - 1 - k : k, from = r - dy;
        T* row = x + static_cast<std::size_t>(r) * row_size;
        if (from < 0 || from >= h || kept == 0) {
            std::fill_n(row, row_size, fill);
            continue;
        }
        const T* src = x + static_cast<std::size_t>(from) * row_size +
                       static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, -dx)) * s.channels;
        const std::size_t count = static_cast<std::size_t>(kept) * s.channels;
        std::memmove(row + left, src, count * sizeof(T));
        std::fill_n(row, left, fill);
        std::fill(row + left + count, row + row_size, fill);
    }
}

inline int check_pixels(int v, const char* transform, const char* parameter) {
    if (v < 0) bad_parameter(transform, parameter, "a whole number of pixels >= 0", v);
    return v;
}

}  // namespace detail

// Pads `padding` pixels of fill_value on every side and takes a random
// height x width window: a whole-pixel shift of the content by dx, dy each
// uniform in [-padding, padding] (Keras' RandomCrop after ZeroPadding2D).
class random_crop {
public:
    struct offset {
        int dx, dy;  // content moves right and down by these pixels
    };

    explicit random_crop(int padding, double fill_value = 0)
        : padding_(detail::check_pixels(padding, "random_crop", "padding")),
          fill_value_(detail::require_finite(fill_value, "random_crop", "fill_value")) {}

    int padding() const noexcept { return padding_; }
    double fill_value() const noexcept { return fill_value_; }

    offset draw(rng& r) const noexcept {
        const auto n = 2 * static_cast<std::uint64_t>(padding_) + 1;
        const int dx = static_cast<int>(r.below(n)) - padding_;
        return {dx, static_cast<int>(r.below(n)) - padding_};
    }

    template <class T>
    void apply(T* x, image_shape s, rng& r) const noexcept {
        const offset o = draw(r);
        if (o.dx != 0 || o.dy != 0) detail::shift_pixels(x, s, o.dx, o.dy, static_cast<T>(fill_value_));
    }
    // The same window of a mask (the same draw from the same stream), padded with fill_label.
    template <class T>
    void apply_to_mask(T* mask, image_shape s, rng& r, double fill_label) const noexcept {
        const offset o = draw(r);
        if (o.dx != 0 || o.dy != 0) detail::shift_pixels(mask, s, o.dx, o.dy, static_cast<T>(fill_label));
    }

private:
    int padding_;
    double fill_value_;
};

// Cutout (DeVries & Taylor 2017): a size x size square of fill_value, every
// channel, centred on a pixel drawn uniformly over the image and clipped at
// the borders. The square covers rows [row - size / 2, row - size / 2 + size)
// and the same for columns. Size 0 leaves the image unchanged.
class cutout {
public:
    struct centre {
        std::size_t row, col;
    };

    explicit cutout(int size, double fill_value = 0)
        : size_(detail::check_pixels(size, "cutout", "size")),
          fill_value_(detail::require_finite(fill_value, "cutout", "fill_value")) {}

    int size() const noexcept { return size_; }
    double fill_value() const noexcept { return fill_value_; }

    centre draw(rng& r, image_shape s) const noexcept {
        const auto row = static_cast<std::size_t>(r.below(s.height));
        return {row, static_cast<std::size_t>(r.below(s.width))};
    }

    template <class T>
    void apply(T* x, image_shape s, rng& r) const noexcept {
        const centre c = draw(r, s);
        const auto half = static_cast<std::ptrdiff_t>(size_ / 2), side = static_cast<std::ptrdiff_t>(size_);
        const auto span = [&](std::size_t at, std::size_t n, std::size_t& lo, std::size_t& hi) {
            const std::ptrdiff_t start = static_cast<std::ptrdiff_t>(at) - half;
            lo = static_cast<std::size_t>(std::max<std::ptrdiff_t>(0, start));
            hi = static_cast<std::size_t>(std::min(static_cast<std::ptrdiff_t>(n), start + side));
        };
        std::size_t r0, r1, c0, c1;
        span(c.row, s.height, r0, r1);
        span(c.col, s.width, c0, c1);
        if (c1 <= c0) return;
        const T fill = static_cast<T>(fill_value_);
        for (std::size_t row = r0; row < r1; ++row)
            std::fill(x + (row * s.width + c0) * s.channels, x + (row * s.width + c1) * s.channels, fill);
    }

private:
    int size_;
    double fill_value_;
};

}  // namespace strata::augment
