// Weight penalties as policy types, Keras' regularizers: attached to a layer's
// kernel or bias (dense<128, relu, kernel_regularizer<regularize::l2>>, then
// net.layer<I>().kernel_penalty = regularize::l2{1e-4}) or to every kernel of
// the network through fit's weight_penalty{...} option. The penalty is added
// to the reported loss and its gradient to the weights' gradients.
//
// A regularizer is any type R with
//   double penalty(std::span<const T> weights) const;             // added to the loss
//   void add_gradient(std::span<const T> weights, std::span<T> gradients) const;
//                                                                  // += d penalty / d weights
// and optionally void check() const, which fit calls once before training to
// reject bad settings with a clear message.
#pragma once

#include <cmath>
#include <concepts>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>

#include "../core/simd.hpp"

namespace strata {

template <class R, class T = float>
concept regularizer = requires(const R& r, std::span<const T> w, std::span<T> g) {
    { r.penalty(w) } -> std::convertible_to<double>;
    r.add_gradient(w, g);
};

namespace detail {
// Names the first member a regularizer lacks.
template <class R, class T>
constexpr bool check_regularizer() {
    constexpr bool has_penalty = requires(const R& r, std::span<const T> w) {
        { r.penalty(w) } -> std::convertible_to<double>;
    };
    static_assert(has_penalty,
                  "strata::regularizer: the type has no `double penalty(std::span<const T> weights) const`");
    if constexpr (has_penalty)
        static_assert(regularizer<R, T>,
                      "strata::regularizer: the type has no `void add_gradient(std::span<const "
                      "T> weights, std::span<T> gradients) const`");
    return true;  // the failed assert above is the one message
}
}  // namespace detail

namespace regularize {

namespace detail {
// sum f(w) over the weights: SIMD partial sums in T, per block, added in double.
template <class T, class F>
double sum_of(std::span<const T> w, F f) {
    using V = simd::batch<T>;
    constexpr std::size_t width = simd::width<T>, block = 64 * width;
    double total = 0;
    std::size_t i = 0;
    for (; i + block <= w.size(); i += block) {
        V acc(T(0));
        for (std::size_t k = i; k < i + block; k += width) acc += f(simd::load(w.data() + k));
        total += simd::reduce_add(acc);
    }
    for (; i < w.size(); ++i) total += f(w[i]);
    return total;
}

inline void require_non_negative(double v, const char* policy, const char* field) {
    if (!(v >= 0) || !std::isfinite(v))
        throw std::invalid_argument(std::string(policy) + ": " + field +
                                    " must be a finite value >= 0, got " + std::to_string(v));
}

template <class T>
inline auto sign(T x) {
    return simd::positive_select(x, T(1), T(0)) - simd::positive_select(-x, T(1), T(0));
}
template <class T>
inline auto sign(const simd::batch<T>& x) {
    using V = simd::batch<T>;
    return simd::positive_select(x, V(T(1)), V(T(0))) - simd::positive_select(-x, V(T(1)), V(T(0)));
}
}  // namespace detail

// l1 * sum |w|; gradient l1 * sign(w), 0 at 0 as in TensorFlow.
struct l1 {
    double l1 = 0.01;
    void check() const { detail::require_non_negative(l1, "regularize::l1", "l1"); }
    template <class T>
    double penalty(std::span<const T> w) const {
        return l1 * detail::sum_of(w, [](auto x) { return simd::abs(x); });
    }
    template <class T>
    void add_gradient(std::span<const T> w, std::span<T> g) const {
        const T k = static_cast<T>(l1);
        simd::transform(w.data(), g.data(), g.data(), w.size(),
                        [k](auto x, auto d) { return d + decltype(x)(k) * detail::sign<T>(x); });
    }
};

// l2 * sum w^2; gradient 2 l2 w, so SGD with weight_decay = 2 l2 is the same step.
struct l2 {
    double l2 = 0.01;
    void check() const { detail::require_non_negative(l2, "regularize::l2", "l2"); }
    template <class T>
    double penalty(std::span<const T> w) const {
        return l2 * detail::sum_of(w, [](auto x) { return x * x; });
    }
    template <class T>
    void add_gradient(std::span<const T> w, std::span<T> g) const {
        const T k = static_cast<T>(2 * l2);
        simd::transform(w.data(), g.data(), g.data(), w.size(),
                        [k](auto x, auto d) { return d + decltype(x)(k) * x; });
    }
};

struct l1_l2 {
    double l1 = 0.01;
    double l2 = 0.01;
    void check() const {
        detail::require_non_negative(l1, "regularize::l1_l2", "l1");
        detail::require_non_negative(l2, "regularize::l1_l2", "l2");
    }
    template <class T>
    double penalty(std::span<const T> w) const {
        return regularize::l1{l1}.penalty(w) + regularize::l2{l2}.penalty(w);
    }
    template <class T>
    void add_gradient(std::span<const T> w, std::span<T> g) const {
        regularize::l1{l1}.add_gradient(w, g);
        regularize::l2{l2}.add_gradient(w, g);
    }
};

}  // namespace regularize

// fit option: applies the regularizer to every kernel (conv2d and dense
// weights; not biases, not batch_norm's gamma and beta).
template <class R>
struct weight_penalty {
    R regularizer;
};
template <class R>
weight_penalty(R) -> weight_penalty<R>;

}  // namespace strata
