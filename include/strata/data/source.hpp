// Where training reads its batches from. A data source knows its size and
// shapes and copies the samples at given indices into a batch buffer; a
// sampler decides which indices each epoch visits, in which order. dataset is
// the in-memory source; a streamed source only has to provide the same four
// members. fit also calls two optional ones: prefetch(next indices) after
// each batch is gathered (image_folder_source decodes ahead), and
// begin_epoch(epoch) before each epoch (segmentation_source makes fresh
// canvases).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "dataset.hpp"

namespace strata::data {

template <class S, class T>
concept source = requires(const S& s, std::span<const std::size_t> indices, T* x, T* y) {
    { s.size() } -> std::convertible_to<std::size_t>;
    { s.sample_size() } -> std::convertible_to<std::size_t>;
    { s.target_width() } -> std::convertible_to<std::size_t>;
    s.gather(indices, x, y);
};

// Every sample once per epoch in a fresh random order. Each epoch shuffles
// the previous epoch's order (Fisher-Yates) with one generator seeded once,
// so a seed gives the same sequence of epochs as fit always has.
class shuffle_sampler {
public:
    shuffle_sampler(std::size_t size, std::uint64_t seed) : order_(size), shuffler_(mix_keys(seed, 0x5eed)) {
        std::iota(order_.begin(), order_.end(), std::size_t{0});
    }
    std::span<const std::size_t> next_epoch() {
        for (std::size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[shuffler_.below(i)]);
        return order_;
    }

    // Where the sequence stands (the last order and the generator), for checkpoints.
    std::span<const std::size_t> order() const noexcept { return order_; }
    std::array<std::uint64_t, 4> position() const noexcept { return shuffler_.position(); }
    void set_position(std::span<const std::size_t> order, const std::array<std::uint64_t, 4>& position) {
        if (order.size() != order_.size())
            throw usage_error("shuffle_sampler: the saved order has " + std::to_string(order.size()) +
                              " indices for " + std::to_string(order_.size()) + " samples");
        std::vector<char> seen(order_.size(), 0);
        for (const std::size_t i : order) {
            if (i >= order_.size() || seen[i])
                throw usage_error("shuffle_sampler: the saved order is not a permutation of the samples");
            seen[i] = 1;
        }
        order_.assign(order.begin(), order.end());
        shuffler_.set_position(position);
    }

private:
    std::vector<std::size_t> order_;
    rng shuffler_;
};

// Class-balanced epochs: each of the epoch's size() draws picks a class
// uniformly, then one of its samples uniformly (with replacement), so every
// class is seen about equally often however rare it is: oversampling by
// batches, for imbalanced data (labels are class indices).
class class_balanced_sampler {
public:
    class_balanced_sampler(std::span<const std::size_t> labels, std::size_t classes, std::uint64_t seed)
        : by_class_(classes), order_(labels.size()), draws_(mix_keys(seed, 0xba1a)) {
        for (std::size_t i = 0; i < labels.size(); ++i) {
            if (labels[i] >= classes)
                throw usage_error("class_balanced_sampler: sample " + std::to_string(i) + " has class " +
                                  std::to_string(labels[i]) + ", expected a class below " +
                                  std::to_string(classes));
            by_class_[labels[i]].push_back(i);
        }
        for (std::size_t c = 0; c < classes; ++c)
            if (by_class_[c].empty())
                throw usage_error("class_balanced_sampler: class " + std::to_string(c) +
                                  " has no samples to draw");
    }
    // From a data set's targets: class indices, or one-hot rows.
    template <class T>
    class_balanced_sampler(const dataset<T>& d, std::size_t classes, std::uint64_t seed)
        : class_balanced_sampler(
              class_labels_of(d.y.data(), d.size(), d.target_width(), "class_balanced_sampler"), classes,
              seed) {}

    std::span<const std::size_t> next_epoch() {
        for (auto& i : order_) {
            const auto& members = by_class_[draws_.below(by_class_.size())];
            i = members[draws_.below(members.size())];
        }
        return order_;
    }
    std::span<const std::size_t> order() const noexcept { return order_; }
    std::array<std::uint64_t, 4> position() const noexcept { return draws_.position(); }
    void set_position(std::span<const std::size_t> order, const std::array<std::uint64_t, 4>& position) {
        if (order.size() != order_.size())
            throw usage_error("class_balanced_sampler: the saved order has " + std::to_string(order.size()) +
                              " indices for " + std::to_string(order_.size()) + " samples");
        order_.assign(order.begin(), order.end());
        draws_.set_position(position);
    }

private:
    std::vector<std::vector<std::size_t>> by_class_;
    std::vector<std::size_t> order_;
    rng draws_;
};

// Every sample once per epoch in storage order (evaluation, or data that is
// already shuffled).
class in_order_sampler {
public:
    explicit in_order_sampler(std::size_t size) : order_(size) {
        std::iota(order_.begin(), order_.end(), std::size_t{0});
    }
    std::span<const std::size_t> next_epoch() const noexcept { return order_; }

private:
    std::vector<std::size_t> order_;
};

template <class S>
concept sampler = requires(S& s) {
    { s.next_epoch() } -> std::convertible_to<std::span<const std::size_t>>;
};

}  // namespace strata::data
