// 2-D convolution over NHWC images: conv2d<Filters, Kernel, Activation,
// options...> with options stride<S>, valid (default) or same padding,
// use_bias (default) or no_bias, and an initializer (init::glorot_uniform by
// default, as Keras). Weights are stored [kernel row][kernel col][in channel]
// [filter] so one im2col row times the weight matrix is one output pixel.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

#include "../core/simd.hpp"
#include "../init/initializers.hpp"
#include "../simd/gemm.hpp"
#include "activation.hpp"
#include "layer.hpp"

namespace strata {

namespace detail {

// Output extent and leading padding along one axis. "same" follows
// TensorFlow: out = ceil(in / stride), the odd pixel of padding goes last.
template <std::size_t In, std::size_t Kernel, std::size_t Stride, bool Same>
struct conv_axis {
    static constexpr std::size_t out =
        Same ? (In + Stride - 1) / Stride : (In >= Kernel ? (In - Kernel) / Stride + 1 : 0);
    static constexpr std::size_t total_pad = Same && (out - 1) * Stride + Kernel > In
                                                 ? (out - 1) * Stride + Kernel - In
                                                 : 0;
    static constexpr std::size_t pad_before = total_pad / 2;
};

// Copies each output pixel's receptive field into one row of `cols`
// (kh, kw, c order), zeros where the field hangs over the padding.
template <class T, std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S, std::size_t OH,
          std::size_t OW, std::size_t PadTop, std::size_t PadLeft>
void im2col(const T* in, T* cols, std::size_t n) {
    constexpr std::size_t row = K * K * C;
    for (std::size_t s = 0; s < n; ++s) {
        const T* image = in + s * H * W * C;
        for (std::size_t oy = 0; oy < OH; ++oy)
            for (std::size_t ox = 0; ox < OW; ++ox) {
                T* dst = cols + ((s * OH + oy) * OW + ox) * row;
                for (std::size_t ky = 0; ky < K; ++ky) {
                    const std::ptrdiff_t y =
                        static_cast<std::ptrdiff_t>(oy * S + ky) - static_cast<std::ptrdiff_t>(PadTop);
                    T* dst_row = dst + ky * K * C;
                    if (y < 0 || y >= static_cast<std::ptrdiff_t>(H)) {
                        std::fill_n(dst_row, K * C, T(0));
                        continue;
                    }
                    const std::ptrdiff_t x0 =
                        static_cast<std::ptrdiff_t>(ox * S) - static_cast<std::ptrdiff_t>(PadLeft);
                    if (x0 >= 0 && x0 + static_cast<std::ptrdiff_t>(K) <= static_cast<std::ptrdiff_t>(W)) {
                        std::memcpy(dst_row, image + (y * W + x0) * C, K * C * sizeof(T));
                        continue;
                    }
                    for (std::size_t kx = 0; kx < K; ++kx) {
                        const std::ptrdiff_t x = x0 + static_cast<std::ptrdiff_t>(kx);
                        if (x < 0 || x >= static_cast<std::ptrdiff_t>(W))
                            std::fill_n(dst_row + kx * C, C, T(0));
                        else
                            std::memcpy(dst_row + kx * C, image + (y * W + x) * C, C * sizeof(T));
                    }
                }
            }
    }
}

// The adjoint of im2col: adds each column entry back onto its input pixel.
template <class T, std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S, std::size_t OH,
          std::size_t OW, std::size_t PadTop, std::size_t PadLeft>
void col2im(const T* cols, T* in, std::size_t n) {
    constexpr std::size_t row = K * K * C;
    std::fill_n(in, n * H * W * C, T(0));
    for (std::size_t s = 0; s < n; ++s) {
        T* image = in + s * H * W * C;
        for (std::size_t oy = 0; oy < OH; ++oy)
            for (std::size_t ox = 0; ox < OW; ++ox) {
                const T* src = cols + ((s * OH + oy) * OW + ox) * row;
                for (std::size_t ky = 0; ky < K; ++ky) {
                    const std::ptrdiff_t y =
                        static_cast<std::ptrdiff_t>(oy * S + ky) - static_cast<std::ptrdiff_t>(PadTop);
                    if (y < 0 || y >= static_cast<std::ptrdiff_t>(H)) continue;
                    for (std::size_t kx = 0; kx < K; ++kx) {
                        const std::ptrdiff_t x =
                            static_cast<std::ptrdiff_t>(ox * S + kx) - static_cast<std::ptrdiff_t>(PadLeft);
                        if (x < 0 || x >= static_cast<std::ptrdiff_t>(W)) continue;
                        T* dst = image + (y * W + x) * C;
                        const T* from = src + (ky * K + kx) * C;
                        for (std::size_t c = 0; c < C; ++c) dst[c] += from[c];
                    }
                }
            }
    }
}

// Adds bias to each row of `rows` x `cols`, then applies the activation.
template <class T, class Activation>
void bias_activation_forward(T* out, const T* bias, std::size_t rows, std::size_t cols) {
    if (bias)
        for (std::size_t r = 0; r < rows; ++r)
            simd::transform(out + r * cols, bias, out + r * cols, cols, [](auto a, auto b) { return a + b; });
    Activation::forward_inplace(out, rows * cols, cols);
}

// dout <- dout * f'(out); dbias += column sums of dout.
template <class T, class Activation>
void bias_activation_backward(const T* out, T* dout, T* dbias, std::size_t rows, std::size_t cols) {
    Activation::backward_inplace(out, dout, rows * cols, cols);
    if (dbias)
        for (std::size_t r = 0; r < rows; ++r)
            simd::transform(dbias, dout + r * cols, dbias, cols, [](auto a, auto b) { return a + b; });
}

}  // namespace detail

template <class T, class In, std::size_t Filters, std::size_t Kernel, class Activation, std::size_t Stride,
          bool Same, bool Bias, class Init>
struct conv2d_layer {
    static_assert(is_image_shape<In>,
                  "conv2d expects an image input (height, width, channels); it cannot follow "
                  "flatten, dense or global_avg_pool");
    static constexpr std::size_t H = In::dims[0], W = In::dims[1], C = In::dims[2];
    static_assert(Same || (Kernel <= H && Kernel <= W),
                  "conv2d kernel is larger than its input with valid padding: use "
                  "strata::same padding or a smaller kernel");
    using rows_axis = detail::conv_axis<H, Kernel, Stride, Same>;
    using cols_axis = detail::conv_axis<W, Kernel, Stride, Same>;
    static constexpr std::size_t OH = rows_axis::out, OW = cols_axis::out;

    using in_shape = In;
    using out_shape = shape<OH, OW, Filters>;
    static constexpr std::string_view name = "conv2d";
    static constexpr std::size_t patch = Kernel * Kernel * C;  // one im2col row
    static constexpr std::size_t weight_count = patch * Filters;
    static constexpr std::size_t bias_count = Bias ? Filters : 0;
    static constexpr std::size_t param_count = weight_count + bias_count;
    // A 1x1 stride-1 convolution is already a matrix product over the input.
    static constexpr bool needs_columns = !(Kernel == 1 && Stride == 1);

    static std::size_t workspace_size(std::size_t n) { return needs_columns ? n * OH * OW * patch : 0; }
    void bind_parameters(T* p) { params_ = p; }
    void initialize(rng& r) {
        Init::fill(params_, weight_count, patch, Kernel * Kernel * Filters, r);
        std::fill_n(params_ + weight_count, bias_count, T(0));
    }
    T* weights() noexcept { return params_; }
    const T* weights() const noexcept { return params_; }
    T* bias() noexcept { return Bias ? params_ + weight_count : nullptr; }
    const T* bias() const noexcept { return Bias ? params_ + weight_count : nullptr; }

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>& ctx) const {
        const T* cols = in;
        if constexpr (needs_columns) {
            im2col(in, ctx.workspace, n);
            cols = ctx.workspace;
        }
        const std::size_t rows = n * OH * OW;
        simd::gemm<T>(rows, Filters, patch, {cols, patch, false, weights(), Filters, false, out, Filters},
                      false);
        detail::bias_activation_forward<T, Activation>(out, bias(), rows, Filters);
    }

    void backward(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>& ctx) const {
        const std::size_t rows = n * OH * OW;
        detail::bias_activation_backward<T, Activation>(out, dout, Bias ? dparams + weight_count : nullptr,
                                                        rows, Filters);
        const T* cols = needs_columns ? ctx.workspace : in;
        // dW += cols^T dout: a reduction over every pixel of every sample.
        simd::gemm<T>(patch, Filters, rows, {cols, patch, true, dout, Filters, false, dparams, Filters},
                      true);
        if (!din) return;
        // dcols = dout W^T, then scattered back onto the input pixels.
        T* dcols = needs_columns ? ctx.workspace : din;
        simd::gemm<T>(rows, patch, Filters, {dout, Filters, false, weights(), Filters, true, dcols, patch},
                      false);
        if constexpr (needs_columns) col2im(dcols, din, n);
    }

private:
    static void im2col(const T* in, T* cols, std::size_t n) {
        detail::im2col<T, H, W, C, Kernel, Stride, OH, OW, rows_axis::pad_before, cols_axis::pad_before>(
            in, cols, n);
    }
    static void col2im(const T* cols, T* in, std::size_t n) {
        detail::col2im<T, H, W, C, Kernel, Stride, OH, OW, rows_axis::pad_before, cols_axis::pad_before>(
            cols, in, n);
    }
    T* params_ = nullptr;
};

template <std::size_t Filters, std::size_t Kernel, class Activation = identity, class... Options>
struct conv2d {
    static_assert(Filters >= 1, "conv2d needs at least one filter");
    static_assert(Kernel >= 1, "conv2d kernel size must be at least 1");
    static_assert((detail::allowed_kinds<stride_option_kind, padding_option_kind, bias_option_kind,
                                         initializer_option_kind>::template accepts<Options>() &&
                   ...),
                  "conv2d options are stride<S>, valid or same, use_bias or no_bias, and an "
                  "initializer from strata::init");
    using padding = option_t<padding_option_kind, valid, Options...>;
    using initializer = option_t<initializer_option_kind, init::glorot_uniform, Options...>;
    static constexpr std::size_t stride_value = option_t<stride_option_kind, stride<1>, Options...>::value;
    static constexpr bool bias = option_t<bias_option_kind, use_bias, Options...>::value;

    template <class T, class In>
    using bind =
        conv2d_layer<T, In, Filters, Kernel, Activation, stride_value, padding::is_same, bias, initializer>;
};

}  // namespace strata
