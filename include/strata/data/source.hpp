// Where training reads its batches from. A data source knows its size and
// shapes and copies the samples at given indices into a batch buffer; a
// sampler decides which indices each epoch visits, in which order. dataset is
// the in-memory source; a streamed source only has to provide the same four
// members.
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
