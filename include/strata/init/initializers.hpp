// Weight initialisers as policy types: a layer option (dense<128, relu,
// init::he_normal>) that fills a kernel from its fan-in and fan-out and a seed.
// The formulas are Keras' and PyTorch's (which agree on these four).
#pragma once

#include <cmath>
#include <cstddef>

#include "../core/random.hpp"
#include "../layers/layer.hpp"

namespace strata::init {

// U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)).
struct glorot_uniform {
    using option_kind = initializer_option_kind;
    static constexpr const char* name = "glorot_uniform";
    template <class T>
    static void fill(T* w, std::size_t count, std::size_t fan_in, std::size_t fan_out, rng& r) {
        const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
        for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>(r.uniform(-limit, limit));
    }
};

// N(0, 2 / (fan_in + fan_out)).
struct glorot_normal {
    using option_kind = initializer_option_kind;
    static constexpr const char* name = "glorot_normal";
    template <class T>
    static void fill(T* w, std::size_t count, std::size_t fan_in, std::size_t fan_out, rng& r) {
        const double stddev = std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
        for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>(stddev * r.normal());
    }
};

// U(-limit, limit) with limit = sqrt(6 / fan_in): keeps ReLU activations' variance.
struct he_uniform {
    using option_kind = initializer_option_kind;
    static constexpr const char* name = "he_uniform";
    template <class T>
    static void fill(T* w, std::size_t count, std::size_t fan_in, std::size_t, rng& r) {
        const double limit = std::sqrt(6.0 / static_cast<double>(fan_in));
        for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>(r.uniform(-limit, limit));
    }
};

// N(0, 2 / fan_in), untruncated as in PyTorch's kaiming_normal_.
struct he_normal {
    using option_kind = initializer_option_kind;
    static constexpr const char* name = "he_normal";
    template <class T>
    static void fill(T* w, std::size_t count, std::size_t fan_in, std::size_t, rng& r) {
        const double stddev = std::sqrt(2.0 / static_cast<double>(fan_in));
        for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>(stddev * r.normal());
    }
};

struct zeros {
    using option_kind = initializer_option_kind;
    static constexpr const char* name = "zeros";
    template <class T>
    static void fill(T* w, std::size_t count, std::size_t, std::size_t, rng&) {
        for (std::size_t i = 0; i < count; ++i) w[i] = T(0);
    }
};

}  // namespace strata::init
