// conv2d_transpose<Filters, Kernel, Activation, options...>: the transposed
// ("deconvolution") layer that U-Net decoders upsample with, as Keras'
// Conv2DTranspose and PyTorch's ConvTranspose2d. It is the adjoint of a
// conv2d from the output back to the input, so it reuses conv2d's im2col and
// col2im with the roles of input and output swapped:
//   valid: (H, W, C) -> ((H - 1) S + K, (W - 1) S + K, Filters)
//   same:  (H, W, C) -> (H S, W S, Filters), the padding TensorFlow crops
//          (K - S, the odd pixel last)
// Options: stride<S>, valid (default) or same, use_bias or no_bias, an
// initializer. Weights are stored [kh][kw][filter][in channel], Keras' layout,
// which is PyTorch's (in, out, kh, kw) with the axes permuted.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

#include "conv2d.hpp"

namespace strata {

template <class T, class In, std::size_t Filters, std::size_t Kernel, class Activation, std::size_t Stride,
          bool Same, bool Bias, class Init, class Penalties = weight_penalties<no_penalty, no_penalty>>
struct conv2d_transpose_layer : Penalties {
    static_assert(detail::check_initializer<Init, T>());
    static_assert(Activation::elementwise, "conv2d_transpose takes an element-wise activation");
    static constexpr std::size_t H = In::dims[0], W = In::dims[1], C = In::dims[2];
    static constexpr std::size_t OH = Same ? H * Stride : (H - 1) * Stride + Kernel;
    static constexpr std::size_t OW = Same ? W * Stride : (W - 1) * Stride + Kernel;
    // The conv2d this layer is the adjoint of: (OH, OW, Filters) -> (H, W, C).
    using rows_axis = detail::conv_axis<OH, Kernel, Stride, Same>;
    using cols_axis = detail::conv_axis<OW, Kernel, Stride, Same>;
    static_assert(rows_axis::out == H && cols_axis::out == W);

    using in_shape = In;
    using out_shape = shape<OH, OW, Filters>;
    using activation = Activation;
    static constexpr std::string_view name = "conv2d_transpose";
    static constexpr std::array<std::size_t, 4> weight_dims{Kernel, Kernel, Filters, C};
    static constexpr std::array<std::size_t, 4> torch_axes{3, 2, 0, 1};  // PyTorch: (in, out, kh, kw)
    static constexpr std::size_t patch =
        Kernel * Kernel * Filters;  // one column row: an input pixel's spread
    static constexpr std::size_t weight_count = patch * C;
    static constexpr std::size_t bias_count = Bias ? Filters : 0;
    static constexpr std::size_t param_count = weight_count + bias_count;
    // Columns for a few samples at a time, as conv2d.
    static constexpr std::size_t column_budget = 1536 * 1024;
    static constexpr std::size_t column_bytes_per_sample = H * W * patch * sizeof(T);
    static constexpr std::size_t chunk_samples =
        column_bytes_per_sample >= column_budget ? 1 : column_budget / column_bytes_per_sample;

    static std::size_t workspace_size(std::size_t n) { return std::min(n, chunk_samples) * H * W * patch; }
    void bind_parameters(T* p) { params_ = p; }
    void initialize(rng& r) {
        Init::fill(params_, weight_count, Kernel * Kernel * C, patch, r);
        std::fill_n(params_ + weight_count, bias_count, T(0));
    }
    T* weights() noexcept { return params_; }
    const T* weights() const noexcept { return params_; }
    T* bias() noexcept { return Bias ? params_ + weight_count : nullptr; }
    const T* bias() const noexcept { return Bias ? params_ + weight_count : nullptr; }
    template <class Self, class F>
    static void visit_tensors(Self& self, F&& f) {
        visit_kernel_and_bias(self, f);
    }

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>& ctx) const {
        for_each_chunk(n, [&](std::size_t first, std::size_t count) {
            // Each input pixel's contribution to every output pixel it reaches: x W^T, then summed in place.
            T* cols = ctx.workspace;
            simd::gemm<T, simd::tile_vectors<T>(patch)>(
                count * H * W, patch, C, {in + first * In::size, C, false, weights(), C, true, cols, patch},
                false);
            detail::col2im<T, OH, OW, Filters, Kernel, Stride, H, W, rows_axis::pad_before,
                           cols_axis::pad_before>(cols, out + first * out_shape::size, count);
        });
        const std::size_t pixels = n * OH * OW;
        if (Bias)
            for (std::size_t p = 0; p < pixels; ++p)
                for (std::size_t f = 0; f < Filters; ++f) out[p * Filters + f] += bias()[f];
        Activation::forward_inplace(out, pixels * Filters, Filters);
    }

    void backward(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>& ctx) const {
        detail::bias_activation_backward<T, Activation, Filters>(
            out, dout, Bias ? dparams + weight_count : nullptr, n * OH * OW);
        for_each_chunk(n, [&](std::size_t first, std::size_t count) {
            // What each input pixel's spread received: the adjoint conv2d's im2col of dout.
            const std::size_t rows = count * H * W;
            T* dcols = ctx.workspace;
            detail::im2col<T, OH, OW, Filters, Kernel, Stride, H, W, rows_axis::pad_before,
                           cols_axis::pad_before>(dout + first * out_shape::size, dcols, 0, rows);
            // dW (patch x C) += dcols^T x; din = dcols W.
            simd::gemm<T, simd::tile_vectors<T>(C)>(
                patch, C, rows, {dcols, patch, true, in + first * In::size, C, false, dparams, C}, true);
            if (din)
                simd::gemm<T, simd::tile_vectors<T>(C)>(
                    rows, C, patch, {dcols, patch, false, weights(), C, false, din + first * In::size, C},
                    false);
        });
    }

private:
    template <class F>
    static void for_each_chunk(std::size_t n, F&& f) {
        for (std::size_t first = 0; first < n; first += chunk_samples)
            f(first, std::min(chunk_samples, n - first));
    }
    T* params_ = nullptr;
};

template <std::size_t Filters, std::size_t Kernel, class Activation, class... Options>
struct conv2d_transpose_spec : detail::conv_options<Options...> {
    using base = detail::conv_options<Options...>;
    using base::bias;
    using base::options_known;
    using base::stride_value;
    using typename base::initializer;
    using typename base::padding;

    template <class T, class In>
    static constexpr bool accepts() {
        static_assert(Filters >= 1 && Kernel >= 1,
                      "conv2d_transpose needs at least one filter and a kernel of 1 or more");
        static_assert(
            options_known,
            "conv2d_transpose options are stride<S>, valid or same, use_bias or no_bias, an initializer "
            "from strata::init, kernel_regularizer<R> and bias_regularizer<R>");
        static_assert(!options_known || is_image_shape<In>,
                      "conv2d_transpose expects an image input (height, width, channels)");
        static_assert(!padding::is_same || Kernel >= stride_value,
                      "conv2d_transpose with same padding needs a kernel at least as large as the stride");
        return options_known && Filters >= 1 && Kernel >= 1 && is_image_shape<In> &&
               (!padding::is_same || Kernel >= stride_value);
    }
    template <class T, class In>
    using bind = conv2d_transpose_layer<T, In, Filters, Kernel, Activation, stride_value, padding::is_same,
                                        bias, initializer, weight_penalties_from<Options...>>;
};

// The activation may be left out, as for conv2d.
template <std::size_t Filters, std::size_t Kernel, class Activation = identity, class... Options>
struct conv2d_transpose
    : std::conditional_t<detail::has_option_kind<Activation>::value,
                         conv2d_transpose_spec<Filters, Kernel, identity, Activation, Options...>,
                         conv2d_transpose_spec<Filters, Kernel, Activation, Options...>> {};

}  // namespace strata
