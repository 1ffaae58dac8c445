// Weight initialisers as policy types: a layer option (dense<128, relu,
// init::he_normal>) that fills a kernel from its fan-in and fan-out and a seed.
// An initializer is a type with
//   using option_kind = strata::initializer_option_kind;
//   static constexpr std::string_view name;   // or const char*
//   template <class T>
//   static void fill(T* weights, std::size_t count, std::size_t fan_in,
//                    std::size_t fan_out, strata::rng& r);
// fill writes all count weights; biases are zeroed by the layer. The formulas
// are Keras' and PyTorch's variances (Keras truncates its normals and rescales
// them to the same variance; we follow PyTorch and do not truncate).
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <string_view>

#include "../core/random.hpp"
#include "../core/real.hpp"
#include "../layers/layer.hpp"

namespace strata {

namespace detail {

template <class I>
concept has_initializer_kind = requires {
    requires std::same_as<typename I::option_kind, initializer_option_kind>;
};
template <class I>
concept has_initializer_name = requires {
    { I::name } -> std::convertible_to<std::string_view>;
};
template <class I, class T>
concept has_initializer_fill = requires(T* weights, std::size_t n, rng& r) {
    I::fill(weights, n, n, n, r);
};

}  // namespace detail

template <class I, class T = float>
concept initializer =
    detail::has_initializer_kind<I> && detail::has_initializer_name<I> && detail::has_initializer_fill<I, T>;

namespace detail {

// Fails with a message naming the first missing member. Returns true even
// then, so static_assert(detail::check_initializer<Init, T>()) adds no second, bare error.
template <class I, class T = float>
constexpr bool check_initializer() {
    if constexpr (!has_initializer_kind<I>) {
        static_assert(has_initializer_kind<I>,
                      "the initializer has no option_kind = strata::initializer_option_kind");
    } else if constexpr (!has_initializer_name<I>) {
        static_assert(has_initializer_name<I>,
                      "the initializer has no static constexpr std::string_view name");
    } else if constexpr (!has_initializer_fill<I, T>) {
        static_assert(has_initializer_fill<I, T>,
                      "the initializer has no static fill<T>(T* weights, std::size_t count, "
                      "std::size_t fan_in, std::size_t fan_out, strata::rng&)");
    }
    return true;
}

}  // namespace detail

}  // namespace strata

namespace strata::init {

namespace detail {
enum class fan { in, average };
enum class distribution { uniform, normal };

// Keras' VarianceScaling: weights of variance Scale / fan, either uniform in
// (-sqrt(3 variance), sqrt(3 variance)) or normal (untruncated, as PyTorch).
template <int Scale, fan Fan, distribution Distribution>
struct variance_scaling {
    using option_kind = initializer_option_kind;
    template <class T>
    static void fill(T* w, std::size_t count, std::size_t fan_in, std::size_t fan_out, rng& r) {
        const double n =
            Fan == fan::in ? static_cast<double>(fan_in) : static_cast<double>(fan_in + fan_out) / 2;
        const double variance = Scale / n;
        if constexpr (Distribution == distribution::uniform) {
            const double limit = std::sqrt(3 * variance);
            for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>(r.uniform(-limit, limit));
        } else {
            const double stddev = std::sqrt(variance);
            for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>(stddev * r.normal());
        }
    }
};
}  // namespace detail

// U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)).
struct glorot_uniform : detail::variance_scaling<1, detail::fan::average, detail::distribution::uniform> {
    static constexpr const char* name = "glorot_uniform";
};
// N(0, 2 / (fan_in + fan_out)).
struct glorot_normal : detail::variance_scaling<1, detail::fan::average, detail::distribution::normal> {
    static constexpr const char* name = "glorot_normal";
};
// U(-limit, limit) with limit = sqrt(6 / fan_in): keeps ReLU activations' variance.
struct he_uniform : detail::variance_scaling<2, detail::fan::in, detail::distribution::uniform> {
    static constexpr const char* name = "he_uniform";
};
// N(0, 2 / fan_in), as PyTorch's kaiming_normal_.
struct he_normal : detail::variance_scaling<2, detail::fan::in, detail::distribution::normal> {
    static constexpr const char* name = "he_normal";
};
// U(-limit, limit) with limit = sqrt(3 / fan_in): variance 1 / fan_in, for SELU.
struct lecun_uniform : detail::variance_scaling<1, detail::fan::in, detail::distribution::uniform> {
    static constexpr const char* name = "lecun_uniform";
};
// N(0, 1 / fan_in).
struct lecun_normal : detail::variance_scaling<1, detail::fan::in, detail::distribution::normal> {
    static constexpr const char* name = "lecun_normal";
};

// Every weight the same value: init::constant<0.1>.
template <real Value>
struct constant {
    using option_kind = initializer_option_kind;
    static constexpr const char* name = "constant";
    static constexpr double value = Value.value();
    template <class T>
    static void fill(T* w, std::size_t count, std::size_t, std::size_t, rng&) {
        for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>(value);
    }
};

struct zeros : constant<0> {
    static constexpr const char* name = "zeros";
};

}  // namespace strata::init
