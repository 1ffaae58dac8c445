// An in-memory data set of images and targets, plus small helpers to slice and summarise it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "strata/core/error.hpp"

namespace strata::data {

template <class T = float>
struct dataset {
    xt::xtensor<T, 4> x;  // (N, H, W, C) images, row-major, channels last
    xt::xtensor<T, 2> y;  // (N, target_width); class labels: width 1 holding the class index as T

    std::size_t size() const noexcept { return x.shape()[0]; }
    std::size_t sample_size() const noexcept { return x.shape()[1] * x.shape()[2] * x.shape()[3]; }
    std::size_t target_width() const noexcept { return y.shape()[1]; }

    // Copies the samples at indices, in that order, into x_out and y_out
    // (indices.size() rows each): what training reads a batch with.
    void gather(std::span<const std::size_t> indices, T* x_out, T* y_out) const {
        const std::size_t in = sample_size(), tw = target_width();
        for (std::size_t k = 0; k < indices.size(); ++k) {
            std::copy_n(x.data() + indices[k] * in, in, x_out + k * in);
            std::copy_n(y.data() + indices[k] * tw, tw, y_out + k * tw);
        }
    }
};

// The class of a target row: the value itself for width 1 (class indices,
// or 0/1 for one sigmoid output), the largest entry's position for one-hot
// rows. NaN, negative and huge values give an out-of-range class (for the
// caller's range check), never undefined behaviour.
template <class T>
std::size_t class_index(const T* row, std::size_t width) {
    if (width == 1) {
        const double v = static_cast<double>(*row);
        return v >= 0 && v < 1e15 ? static_cast<std::size_t>(v) : std::size_t(1e15);
    }
    return static_cast<std::size_t>(std::max_element(row, row + width) - row);
}

// Each target row's class (class_index): rows of width 1 must hold whole
// class indices >= 0; wider rows are one-hot. `what` names the caller in
// the error.
template <class T>
std::vector<std::size_t> class_labels_of(const T* targets, std::size_t n, std::size_t width,
                                         const std::string& what) {
    if (width == 0) throw usage_error(what + ": the targets have width 0; expected class labels");
    std::vector<std::size_t> labels(n);
    for (std::size_t i = 0; i < n; ++i) {
        const T* row = targets + i * width;
        labels[i] = class_index(row, width);
        if (width == 1 && static_cast<double>(labels[i]) != static_cast<double>(*row)) {
            std::ostringstream value;
            value << static_cast<double>(*row);
            throw usage_error(what + ": sample " + std::to_string(i) + " has the target " + value.str() +
                              "; expected a whole class index >= 0 (or one-hot rows)");
        }
    }
    return labels;
}

// The first n samples, copied.
template <class T>
dataset<T> take(const dataset<T>& d, std::size_t n) {
    if (n > d.size()) {
        throw usage_error("take: asked for " + std::to_string(n) + " samples but the data set holds only " +
                          std::to_string(d.size()));
    }
    if (d.y.shape()[0] < n) {
        throw usage_error("take: data set has " + std::to_string(d.size()) + " images but only " +
                          std::to_string(d.y.shape()[0]) + " targets");
    }
    dataset<T> out;
    const auto& xs = d.x.shape();
    out.x = xt::xtensor<T, 4>({n, xs[1], xs[2], xs[3]});
    out.y = xt::xtensor<T, 2>({n, d.y.shape()[1]});
    // Row-major storage: the first n samples are one contiguous prefix.
    std::copy_n(d.x.data(), n * d.sample_size(), out.x.data());
    std::copy_n(d.y.data(), n * d.target_width(), out.y.data());
    return out;
}

// How many samples carry each class index in [0, num_classes).
template <class T>
std::vector<std::size_t> class_counts(const dataset<T>& d, std::size_t num_classes) {
    if (d.target_width() != 1) {
        throw usage_error("class_counts: expected targets of width 1 (class indices), found width " +
                          std::to_string(d.target_width()));
    }
    std::vector<std::size_t> counts(num_classes, 0);
    const T* labels = d.y.data();
    const std::size_t n = d.y.shape()[0];
    for (std::size_t i = 0; i < n; ++i) {
        // Compared as double so narrow T cannot wrap num_classes; NaN fails the range test before the cast.
        const double v = static_cast<double>(labels[i]);
        const bool in_range = v >= 0.0 && v < static_cast<double>(num_classes);
        const auto cls = in_range ? static_cast<std::size_t>(v) : std::size_t{0};
        if (!in_range || static_cast<double>(cls) != v) {
            std::ostringstream value;
            value << v;
            throw usage_error("class_counts: label " + std::to_string(i) + " is " + value.str() +
                              ": expected an integer class index in [0, " + std::to_string(num_classes) +
                              ")");
        }
        ++counts[cls];
    }
    return counts;
}

}  // namespace strata::data
