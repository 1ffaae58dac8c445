// Activation functions, usable fused into conv2d/dense (conv2d<32, 3, relu>)
// or as layers of their own (sequential<..., relu, ...>). Each derivative is
// computed from the activation's output, so backward needs no extra storage.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "../core/real.hpp"
#include "../core/simd.hpp"
#include "layer.hpp"

namespace strata {

template <class T, class In, class Activation>
struct activation_layer;

// Element-wise activations define value(x) and derivative_from_output(y) once,
// for scalars and SIMD batches alike.
template <class Derived>
struct elementwise_activation {
    template <class T, class In>
    using bind = activation_layer<T, In, Derived>;
    static constexpr bool elementwise = true;

    template <class T>
    static void forward_inplace(T* data, std::size_t count, std::size_t /*row*/) noexcept {
        simd::transform(data, data, count, [](auto x) { return Derived::value(x); });
    }
    // dy <- dy * f'(x), with f'(x) written in terms of y = f(x).
    template <class T>
    static void backward_inplace(const T* y, T* dy, std::size_t count, std::size_t /*row*/) noexcept {
        simd::transform(y, dy, dy, count,
                        [](auto out, auto d) { return d * Derived::derivative_from_output(out); });
    }
};

struct identity : elementwise_activation<identity> {
    static constexpr std::string_view name = "linear";
    template <class V>
    static V value(V x) noexcept {
        return x;
    }
    template <class V>
    static V derivative_from_output(V) noexcept {
        return V(1);
    }
    // Nothing to do: lets fused layers skip the pass entirely.
    template <class T>
    static void forward_inplace(T*, std::size_t, std::size_t) noexcept {}
    template <class T>
    static void backward_inplace(const T*, T*, std::size_t, std::size_t) noexcept {}
};

struct relu : elementwise_activation<relu> {
    static constexpr std::string_view name = "relu";
    template <class V>
    static V value(V x) noexcept {
        return simd::max(x, V(0));
    }
    template <class V>
    static V derivative_from_output(V y) noexcept {
        return simd::positive_select(y, V(1), V(0));
    }
};

// The slope is a template argument so it is a constant in the kernel; the
// default 0.01 is PyTorch's (Keras' LeakyReLU uses 0.3: basic_leaky_relu<0.3>).
template <real Alpha>
struct basic_leaky_relu : elementwise_activation<basic_leaky_relu<Alpha>> {
    static_assert(Alpha.value() > 0,
                  "leaky_relu needs a positive slope so its derivative can be read off the output");
    static constexpr std::string_view name = "leaky_relu";
    static constexpr double alpha = Alpha.value();
    template <class V>
    static V value(V x) noexcept {
        return simd::positive_select(x, x, x * V(alpha));
    }
    template <class V>
    static V derivative_from_output(V y) noexcept {
        return simd::positive_select(y, V(1), V(alpha));
    }
};
using leaky_relu = basic_leaky_relu<0.01>;

template <real Alpha>
struct basic_elu : elementwise_activation<basic_elu<Alpha>> {
    static_assert(Alpha.value() > 0,
                  "elu needs a positive alpha so its derivative can be read off the output");
    static constexpr std::string_view name = "elu";
    static constexpr double alpha = Alpha.value();
    template <class V>
    static V value(V x) noexcept {
        // min(x, 0) keeps exp from overflowing on the branch that is discarded.
        const V negative_part = V(alpha) * (simd::exp(x - simd::max(x, V(0))) - V(1));
        return simd::positive_select(x, x, negative_part);
    }
    // For x <= 0, d/dx alpha (e^x - 1) = alpha e^x = y + alpha.
    template <class V>
    static V derivative_from_output(V y) noexcept {
        return simd::positive_select(y, V(1), y + V(alpha));
    }
};
using elu = basic_elu<1.0>;

struct sigmoid : elementwise_activation<sigmoid> {
    static constexpr std::string_view name = "sigmoid";
    template <class V>
    static V value(V x) noexcept {
        // Written through e^{-|x|} so neither branch overflows.
        const V e = simd::exp(-(simd::max(x, -x)));
        return simd::positive_select(x, V(1) / (V(1) + e), e / (V(1) + e));
    }
    template <class V>
    static V derivative_from_output(V y) noexcept {
        return y * (V(1) - y);
    }
};

struct tanh : elementwise_activation<tanh> {
    static constexpr std::string_view name = "tanh";
    template <class V>
    static V value(V x) noexcept {
        return simd::tanh(x);
    }
    template <class V>
    static V derivative_from_output(V y) noexcept {
        return V(1) - y * y;
    }
};

// Softmax over the last axis (the channels of each pixel, or the whole of a
// flat vector), as Keras' default axis=-1.
struct softmax {
    static constexpr std::string_view name = "softmax";
    static constexpr bool elementwise = false;
    template <class T, class In>
    using bind = activation_layer<T, In, softmax>;

    template <class T>
    static void forward_inplace(T* data, std::size_t count, std::size_t row) noexcept {
        for (std::size_t r = 0; r < count; r += row) {
            T* x = data + r;
            T top = x[0];
            for (std::size_t i = 1; i < row; ++i) top = x[i] > top ? x[i] : top;
            T sum = 0;
            for (std::size_t i = 0; i < row; ++i) sum += (x[i] = simd::exp(x[i] - top));
            const T inv = T(1) / sum;
            for (std::size_t i = 0; i < row; ++i) x[i] *= inv;
        }
    }
    // dx = y * (dy - <dy, y>) per row.
    template <class T>
    static void backward_inplace(const T* y, T* dy, std::size_t count, std::size_t row) noexcept {
        for (std::size_t r = 0; r < count; r += row) {
            T dot = 0;
            for (std::size_t i = 0; i < row; ++i) dot += dy[r + i] * y[r + i];
            for (std::size_t i = 0; i < row; ++i) dy[r + i] = y[r + i] * (dy[r + i] - dot);
        }
    }
};

// An activation standing alone as a layer: same shape in and out.
template <class T, class In, class Activation>
struct activation_layer : parameter_free_layer {
    using in_shape = In;
    using out_shape = In;
    using activation = Activation;
    static constexpr std::string_view name = Activation::name;

    // Element-wise ones read one buffer and write the other in a single pass.
    void forward(const T* in, T* out, std::size_t n, const pass_context<T>&) const {
        if constexpr (Activation::elementwise) {
            simd::transform(in, out, n * In::size, [](auto x) { return Activation::value(x); });
        } else {
            std::memcpy(out, in, n * In::size * sizeof(T));
            Activation::forward_inplace(out, n * In::size, channels_of<In>);
        }
    }
    void backward(const T*, const T* out, T* dout, T* din, T*, std::size_t n, const pass_context<T>&) const {
        if (!din) return;
        if constexpr (Activation::elementwise) {
            simd::transform(out, dout, din, n * In::size,
                            [](auto y, auto d) { return d * Activation::derivative_from_output(y); });
        } else {
            Activation::backward_inplace(out, dout, n * In::size, channels_of<In>);
            std::memcpy(din, dout, n * In::size * sizeof(T));
        }
    }
};

namespace detail {
// Whether layer Layer applies the element-wise activation layer Next in its
// own passes (template forward_activated / backward_activated, as batch_norm):
// layer lists then run the two as one and never write Layer's own output.
template <class Layer, class Next>
struct fuses_activation : std::false_type {};
template <class Layer, class T, class In, class Activation>
requires(Activation::elementwise&& requires(const Layer& l, const T* x, T* y, std::size_t n,
                                            const pass_context<T>& c) {
    l.template forward_activated<Activation>(x, y, n, c);
    l.template backward_activated<Activation>(x, x, y, y, y, n, c);
}) struct fuses_activation<Layer, activation_layer<T, In, Activation>> : std::true_type {
};
}  // namespace detail

}  // namespace strata
