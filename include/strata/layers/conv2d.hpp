// 2-D convolution over NHWC images: conv2d<Filters, Kernel, Activation,
// options...> with options stride<S>, valid (default) or same padding,
// use_bias (default) or no_bias, and an initializer (init::glorot_uniform by
// default, as Keras). Weights are stored [kernel row][kernel col][in channel]
// [filter] so one im2col row times the weight matrix is one output pixel.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "../core/simd.hpp"
#include "../init/initializers.hpp"
#include "../simd/gemm.hpp"
#include "../simd/winograd.hpp"
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

// Copies N values, N known at compile time, in whole vectors where it can: a
// 3x3 16-channel kernel row is 48 floats, and std::memcpy of 192 bytes was
// a library call per row that took a third of im2col's time.
template <class T, std::size_t N>
inline void copy_fixed(const T* src, T* dst) {
    constexpr std::size_t w = simd::width<T>, vectors = N / w;
#pragma GCC unroll 16
    for (std::size_t v = 0; v < vectors; ++v) simd::store(dst + v * w, simd::load(src + v * w));
    for (std::size_t i = vectors * w; i < N; ++i) dst[i] = src[i];
}

// Copies each output pixel's receptive field into one row of `cols`
// (kh, kw, c order), zeros where the field hangs over the padding. Rows
// [row_begin, row_end) count output pixels across the images (image s, pixel
// p is row s * OH * OW + p) and land at their usual place.
template <class T, std::size_t H, std::size_t W, std::size_t C, std::size_t K, std::size_t S, std::size_t OH,
          std::size_t OW, std::size_t PadTop, std::size_t PadLeft>
void im2col(const T* in, T* cols, std::size_t row_begin, std::size_t row_end) {
    constexpr std::size_t row = K * K * C;
    for (std::size_t r = row_begin; r < row_end; ++r) {
        const T* image = in + r / (OH * OW) * H * W * C;
        const std::size_t pixel = r % (OH * OW), oy = pixel / OW, ox = pixel % OW;
        T* dst = cols + r * row;
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
                copy_fixed<T, K * C>(image + (y * W + x0) * C, dst_row);
                continue;
            }
            for (std::size_t kx = 0; kx < K; ++kx) {
                const std::ptrdiff_t x = x0 + static_cast<std::ptrdiff_t>(kx);
                if (x < 0 || x >= static_cast<std::ptrdiff_t>(W))
                    std::fill_n(dst_row + kx * C, C, T(0));
                else
                    copy_fixed<T, C>(image + (y * W + x) * C, dst_row + kx * C);
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

// Adds the bias and applies an element-wise activation to a GEMM result as
// it is stored (simd::gemm's finish hook), for vectors and scalar tails alike.
template <class T, class Activation>
struct bias_activation {
    const T* bias;
    simd::batch<T> operator()(simd::batch<T> v, std::size_t col) const {
        if (bias) v += simd::load(bias + col);
        return Activation::value(v);
    }
    T operator()(T v, std::size_t col) const {
        if (bias) v += bias[col];
        return Activation::value(v);
    }
};

// C = act(op(A) op(B) + bias); activations over whole rows (softmax) get their own pass.
// Depth > 0 states k at compile time for a plain row-major A (lda == k) and
// B, which simd::gemm_fixed_depth then reads in place, in tiles of Vectors
// vectors (0: chosen from n).
template <class T, class Activation, std::size_t Depth = 0, std::size_t Vectors = 0>
void gemm_bias_activation(std::size_t m, std::size_t n, std::size_t k, const simd::gemm_operands<T>& g,
                          const T* bias) {
    auto product = [&](const auto& finish) {
        if constexpr (Depth > 0)
            simd::gemm_fixed_depth<T, Depth, Vectors>(m, n, g.a, g.b, g.ldb, g.c, g.ldc, false, finish);
        else
            simd::gemm<T, Vectors>(m, n, k, g, false, finish);
    };
    if constexpr (Activation::elementwise) {
        product(bias_activation<T, Activation>{bias});
    } else {
        product(bias_activation<T, identity>{bias});
        Activation::forward_inplace(g.c, m * n, n);
    }
}

// dout <- dout * f'(out) and dbias += column sums of dout, in one pass; Cols
// is compile-time so the column sums stay in registers.
template <class T, class Activation, std::size_t Cols>
void bias_activation_backward(const T* out, T* dout, T* dbias, std::size_t rows) {
    if constexpr (!Activation::elementwise) Activation::backward_inplace(out, dout, rows * Cols, Cols);
    // No activation and no bias (ResNet's convolutions): dout stays as it is.
    if constexpr (std::is_same_v<Activation, identity>)
        if (!dbias) return;
    constexpr std::size_t w = simd::width<T>, vectors = Cols / w, tail = Cols % w;
    if constexpr (vectors > 0 && vectors <= 8) {
        simd::batch<T> sums[vectors];
        for (auto& v : sums) v = simd::batch<T>(T(0));
        T tail_sums[tail > 0 ? tail : 1] = {};
        for (std::size_t r = 0; r < rows; ++r) {
            T* d = dout + r * Cols;
            const T* y = out + r * Cols;
#pragma GCC unroll 8
            for (std::size_t v = 0; v < vectors; ++v) {
                auto g = simd::load(d + v * w);
                if constexpr (Activation::elementwise) {
                    g = g * Activation::derivative_from_output(simd::load(y + v * w));
                    simd::store(d + v * w, g);
                }
                sums[v] += g;
            }
            for (std::size_t c = vectors * w; c < Cols; ++c) {
                if constexpr (Activation::elementwise) d[c] *= Activation::derivative_from_output(y[c]);
                tail_sums[c - vectors * w] += d[c];
            }
        }
        if (dbias) {
            for (std::size_t v = 0; v < vectors; ++v)
                simd::store(dbias + v * w, simd::load(dbias + v * w) + sums[v]);
            for (std::size_t c = 0; c < tail; ++c) dbias[vectors * w + c] += tail_sums[c];
        }
    } else {
        if constexpr (Activation::elementwise) Activation::backward_inplace(out, dout, rows * Cols, Cols);
        for (std::size_t r = 0; dbias && r < rows; ++r)
            simd::transform(dbias, dout + r * Cols, dbias, Cols, [](auto a, auto b) { return a + b; });
    }
}

// The test oracle: a direct convolution in plain loops, out = act(conv(in) + b),
// with the same weight layout, padding and stride rules as conv2d.
template <class T, class Activation, std::size_t H, std::size_t W, std::size_t C, std::size_t Filters,
          std::size_t Kernel, std::size_t Stride, bool Same>
void conv2d_reference(const T* in, const T* weights, const T* bias, T* out, std::size_t n) {
    using rows_axis = conv_axis<H, Kernel, Stride, Same>;
    using cols_axis = conv_axis<W, Kernel, Stride, Same>;
    constexpr std::size_t OH = rows_axis::out, OW = cols_axis::out;
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t oy = 0; oy < OH; ++oy)
            for (std::size_t ox = 0; ox < OW; ++ox)
                for (std::size_t f = 0; f < Filters; ++f) {
                    double sum = bias ? static_cast<double>(bias[f]) : 0.0;
                    for (std::size_t ky = 0; ky < Kernel; ++ky)
                        for (std::size_t kx = 0; kx < Kernel; ++kx) {
                            const auto y = static_cast<std::ptrdiff_t>(oy * Stride + ky) -
                                           static_cast<std::ptrdiff_t>(rows_axis::pad_before);
                            const auto x = static_cast<std::ptrdiff_t>(ox * Stride + kx) -
                                           static_cast<std::ptrdiff_t>(cols_axis::pad_before);
                            if (y < 0 || x < 0 || y >= static_cast<std::ptrdiff_t>(H) ||
                                x >= static_cast<std::ptrdiff_t>(W))
                                continue;
                            for (std::size_t c = 0; c < C; ++c)
                                sum +=
                                    static_cast<double>(in[((s * H + y) * W + x) * C + c]) *
                                    static_cast<double>(weights[((ky * Kernel + kx) * C + c) * Filters + f]);
                        }
                    out[((s * OH + oy) * OW + ox) * Filters + f] = Activation::value(static_cast<T>(sum));
                }
}

}  // namespace detail

template <class T, class In, std::size_t Filters, std::size_t Kernel, class Activation, std::size_t Stride,
          bool Same, bool Bias, class Init, class Penalties = weight_penalties<no_penalty, no_penalty>>
struct conv2d_layer : Penalties {
    static_assert(detail::check_initializer<Init, T>());
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
    using activation = Activation;
    static constexpr std::size_t filters = Filters, kernel = Kernel, stride = Stride;
    static constexpr bool same_padding = Same;
    static constexpr std::string_view name = "conv2d";
    // Weight tensor as stored, and where each of PyTorch's axes (out, in, kh, kw) is in it.
    static constexpr std::array<std::size_t, 4> weight_dims{Kernel, Kernel, C, Filters};
    static constexpr std::array<std::size_t, 4> torch_axes{3, 2, 0, 1};
    static constexpr std::size_t patch = Kernel * Kernel * C;  // one im2col row
    static constexpr std::size_t weight_count = patch * Filters;
    static constexpr std::size_t bias_count = Bias ? Filters : 0;
    static constexpr std::size_t param_count = weight_count + bias_count;
    // A 1x1 stride-1 convolution is already a matrix product over the input.
    static constexpr bool needs_columns = !(Kernel == 1 && Stride == 1);
    // Winograd F(2x2, 3x3) (simd/winograd.hpp) for 3x3 stride-1 layers with
    // at least 16 channels in and out, forward and both gradients. Measured
    // against the direct path on the four such layers of the benchmarks (16
    // to 64 channels, 32 images, one thread), its forward took 1.2-1.8x less
    // time and its backward 1.2-1.5x. Fewer channels leave the 16 products
    // too shallow to pay for the transforms. (Softmax, over whole rows, is
    // applied after the product.)
    static constexpr bool winograd =
        Kernel == 3 && Stride == 1 && C >= 16 && Filters >= 16 && Activation::elementwise;
    // With stride 1 the input gradient is itself a convolution: dout, padded
    // by Kernel - 1 - pad on each side, with the kernel turned half a circle
    // and its channel axes swapped. By Winograd where the layer uses it, valid
    // padding too (a full convolution: the reference network's conv 2 took
    // 7% less time than by col2im once the weight gradient no longer built
    // columns). Otherwise, for same padding, im2col of dout and one product of
    // depth Kernel^2 x Filters replace the product into Kernel^2 x C columns
    // per pixel and their scatter back (col2im): ResNet-20's 16-channel
    // backward pass took 19% less time. Not for valid padding there (60%
    // longer: the full convolution reads mostly padding), and only up to the
    // depth that the fixed-depth product reads in place.
    static constexpr std::size_t flipped_patch = Kernel * Kernel * Filters;  // one im2col row of dout
    static constexpr bool data_gradient_by_convolution =
        !winograd && Stride == 1 && Same && needs_columns && flipped_patch <= simd::max_fixed_depth;
    static constexpr bool turned_kernel = winograd || data_gradient_by_convolution;
    using winograd_forward =
        simd::winograd_f2_3<T, H, W, C, Filters, OH, OW, rows_axis::pad_before, cols_axis::pad_before>;
    using winograd_data = simd::winograd_f2_3<T, OH, OW, Filters, C, H, W, Kernel - 1 - rows_axis::pad_before,
                                              Kernel - 1 - cols_axis::pad_before>;
    // Sharing a forward pass between threads pays from about a million
    // multiply-adds: below that (conv1 of the reference network, 194k per
    // image) the other core's cache misses on the output cost more than it saves.
    static constexpr std::size_t split_threshold = 1'000'000;

    // Columns are built for a few samples at a time and rebuilt in backward
    // rather than kept, so the workspace no longer grows with the batch (a
    // 128-image slice needed 17 MB). The budget is about one L2's worth plus
    // half; smaller chunks made backward-weights reload dW too often.
    static constexpr std::size_t column_budget = 1536 * 1024;
    static constexpr std::size_t column_floats_per_sample =
        std::max(OH * OW * patch, data_gradient_by_convolution ? (H* W* flipped_patch) : 0);
    static constexpr std::size_t column_bytes_per_sample = column_floats_per_sample * sizeof(T);
    static constexpr std::size_t chunk_samples =
        column_bytes_per_sample >= column_budget ? 1 : column_budget / column_bytes_per_sample;

    // Columns for one chunk (or Winograd's blocks), then W^T (or the turned
    // kernel) for backward-data, and Winograd's transform of the turned kernel.
    static std::size_t column_floats(std::size_t n) {
        if constexpr (winograd)
            return std::max(winograd_forward::workspace_size(), winograd_data::workspace_size());
        else
            return needs_columns ? std::min(n, chunk_samples) * column_floats_per_sample : 0;
    }
    static std::size_t workspace_size(std::size_t n) {
        return column_floats(n) + weight_count + (winograd ? winograd_data::kernel_size : 0);
    }
    void bind_parameters(T* p) { params_ = p; }
    void initialize(rng& r) {
        Init::fill(params_, weight_count, patch, Kernel * Kernel * Filters, r);
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
        const std::size_t rows = n * OH * OW;
        // The executor offers its idle threads only for a batch too small to
        // give each its own samples: then the threads share the output pixels.
        if (ctx.pool && n <= chunk_samples && rows * patch * Filters >= split_threshold) {
            if constexpr (winograd) {
                // By output tiles, each thread with its own blocks: the same
                // arithmetic per tile as one thread's.
                const std::size_t kernel_parts = std::min(ctx.pool->size(), C);
                auto kernel_share = [&](std::size_t part) {
                    winograd_forward::transform_kernel(weights(), ctx.workspace, part * C / kernel_parts,
                                                       (part + 1) * C / kernel_parts);
                };
                ctx.pool->run(kernel_parts, std::cref(kernel_share));
                const std::size_t tiles = winograd_forward::tiles(n);
                const std::size_t parts = std::min(ctx.pool->size(), tiles);
                auto share = [&](std::size_t part) {
                    auto& blocks = simd::detail::thread_scratch<T>().transforms;
                    if (blocks.size() < winograd_forward::block_size)
                        blocks.resize(winograd_forward::block_size);
                    winograd_forward::forward_tiles(in, ctx.workspace, out, part * tiles / parts,
                                                    (part + 1) * tiles / parts, blocks.data(),
                                                    detail::bias_activation<T, Activation>{bias()});
                };
                ctx.pool->run(parts, std::cref(share));
                return;
            }
            const std::size_t parts = std::min(ctx.pool->size(), rows);
            auto share = [&](std::size_t part) {
                const std::size_t r0 = part * rows / parts, r1 = (part + 1) * rows / parts;
                multiply(columns(in, r0, r1, ctx.workspace), r1 - r0, out + r0 * Filters);
            };
            ctx.pool->run(parts, std::cref(share));
            return;
        }
        if constexpr (winograd) {
            winograd_forward::forward(in, weights(), out, n, ctx.workspace,
                                      detail::bias_activation<T, Activation>{bias()});
            return;
        }
        for_each_chunk(n, [&](std::size_t first, std::size_t count) {
            multiply(columns(in + first * In::size, 0, count * OH * OW, ctx.workspace), count * OH * OW,
                     out + first * out_shape::size);
        });
    }

    void backward(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>& ctx) const {
        detail::bias_activation_backward<T, Activation, Filters>(out, dout, bias_gradient(dparams),
                                                                 n * OH * OW);
        backward_from_activated(in, dout, din, dparams, n, ctx);
    }
    static T* bias_gradient(T* dparams) noexcept { return Bias ? dparams + weight_count : nullptr; }

    // The rest of backward once dout has been through the activation's
    // derivative and the bias gradient is added (by backward, or by a
    // max_pool after this layer: see detail::pools_gradient).
    void backward_from_activated(const T* in, T* dout, T* din, T* dparams, std::size_t n,
                                 const pass_context<T>& ctx) const {
        // W^T, (filters x patch), lets dout W^T read both operands in place;
        // the convolution path reads the turned kernel, (Kernel^2 x filters) x C.
        T* weights_t = ctx.workspace + column_floats(n);
        if (din) {
            if constexpr (turned_kernel) {
                for (std::size_t ky = 0; ky < Kernel; ++ky)
                    for (std::size_t kx = 0; kx < Kernel; ++kx)
                        for (std::size_t f = 0; f < Filters; ++f)
                            for (std::size_t c = 0; c < C; ++c)
                                weights_t[((ky * Kernel + kx) * Filters + f) * C + c] =
                                    weights()[(((Kernel - 1 - ky) * Kernel + Kernel - 1 - kx) * C + c) *
                                                  Filters +
                                              f];
            } else {
                for (std::size_t p = 0; p < patch; ++p)
                    for (std::size_t f = 0; f < Filters; ++f)
                        weights_t[f * patch + p] = weights()[p * Filters + f];
            }
            if constexpr (winograd) winograd_data::transform_kernel(weights_t, weights_t + weight_count);
        }
        if constexpr (winograd) {
            // No columns: both gradients over the whole batch, one after the other in the workspace.
            winograd_forward::weight_gradient(in, dout, dparams, n, ctx.workspace);
            if (din)
                winograd_data::forward_tiles(dout, weights_t + weight_count, din, 0, winograd_data::tiles(n),
                                             ctx.workspace, simd::no_finish{});
            return;
        }
        for_each_chunk(n, [&](std::size_t first, std::size_t count) {
            const std::size_t rows = count * OH * OW;
            const T* chunk_dout = dout + first * out_shape::size;
            const T* cols = columns(in + first * In::size, 0, rows, ctx.workspace);
            // dW += cols^T dout: a reduction over every pixel of every sample.
            if constexpr (patch <= simd::detail::gemm_tile<T>::mr)
                simd::gemm_transposed_a_few_rows<T, patch>(Filters, rows, cols, chunk_dout, Filters, dparams,
                                                           Filters, true);
            else
                simd::gemm<T, simd::tile_vectors<T>(Filters)>(
                    patch, Filters, rows, {cols, patch, true, chunk_dout, Filters, false, dparams, Filters},
                    true);
            if (!din) return;
            T* chunk_din = din + first * In::size;
            if constexpr (data_gradient_by_convolution) {
                detail::im2col<T, OH, OW, Filters, Kernel, 1, H, W, Kernel - 1 - rows_axis::pad_before,
                               Kernel - 1 - cols_axis::pad_before>(chunk_dout, ctx.workspace, 0,
                                                                   count * H * W);
                simd::gemm_fixed_depth<T, flipped_patch, simd::tile_vectors<T>(C)>(
                    count * H * W, C, ctx.workspace, weights_t, C, chunk_din, C, false);
                return;
            }
            // dcols = dout W^T, then scattered back onto the input pixels.
            T* dcols = needs_columns ? ctx.workspace : chunk_din;
            simd::gemm_fixed_depth<T, Filters, simd::tile_vectors<T>(patch)>(
                rows, patch, chunk_dout, weights_t, patch, dcols, patch, false);
            if constexpr (needs_columns) col2im(dcols, chunk_din, count);
        });
    }

private:
    // out = act(cols W + b) over `rows` output pixels, reading cols in place.
    void multiply(const T* cols, std::size_t rows, T* out) const {
        detail::gemm_bias_activation<T, Activation, patch, simd::tile_vectors<T>(Filters)>(
            rows, Filters, patch, {cols, patch, false, weights(), Filters, false, out, Filters}, bias());
    }

    template <class F>
    static void for_each_chunk(std::size_t n, F&& f) {
        const std::size_t step = needs_columns ? chunk_samples : n;
        for (std::size_t first = 0; first < n; first += step) f(first, std::min(step, n - first));
    }
    // Rows [row_begin, row_end) of the im2col matrix of the images at `in`,
    // or the input itself for 1x1 stride-1 kernels, whose pixels are its rows.
    static const T* columns(const T* in, std::size_t row_begin, std::size_t row_end, T* workspace) {
        if constexpr (!needs_columns) return in + row_begin * patch;
        detail::im2col<T, H, W, C, Kernel, Stride, OH, OW, rows_axis::pad_before, cols_axis::pad_before>(
            in, workspace, row_begin, row_end);
        return workspace + row_begin * patch;
    }
    static void col2im(const T* cols, T* in, std::size_t n) {
        detail::col2im<T, H, W, C, Kernel, Stride, OH, OW, rows_axis::pad_before, cols_axis::pad_before>(
            cols, in, n);
    }
    T* params_ = nullptr;
};

namespace detail {
// The options conv2d, conv2d_transpose and depthwise_conv2d share, with their defaults.
template <class... Options>
struct conv_options {
    static constexpr bool options_known =
        (allowed_kinds<stride_option_kind, padding_option_kind, bias_option_kind, initializer_option_kind,
                       kernel_regularizer_option_kind,
                       bias_regularizer_option_kind>::template accepts<Options>() &&
         ...);
    using padding = option_t<padding_option_kind, valid, Options...>;
    using initializer = option_t<initializer_option_kind, init::glorot_uniform, Options...>;
    static constexpr std::size_t stride_value = option_t<stride_option_kind, stride<1>, Options...>::value;
    static constexpr bool bias = option_t<bias_option_kind, use_bias, Options...>::value;
};
}  // namespace detail

template <std::size_t Filters, std::size_t Kernel, class Activation, class... Options>
struct conv2d_spec : detail::conv_options<Options...> {
    using base = detail::conv_options<Options...>;
    using base::bias;
    using base::options_known;
    using base::stride_value;
    using typename base::initializer;
    using typename base::padding;

    // Checked here rather than in the class, so a mistake stops the chain with one message.
    template <class T, class In>
    static constexpr bool accepts() {
        static_assert(Filters >= 1, "conv2d needs at least one filter");
        static_assert(Kernel >= 1, "conv2d kernel size must be at least 1");
        static_assert(options_known,
                      "conv2d options are stride<S>, valid or same, use_bias or no_bias, an initializer from "
                      "strata::init, kernel_regularizer<R> and bias_regularizer<R>");
        if constexpr (!options_known || Filters == 0 || Kernel == 0) return false;
        static_assert(
            is_image_shape<In>,
            "conv2d expects an image input (height, width, channels); it cannot follow flatten, dense or "
            "global_avg_pool");
        if constexpr (is_image_shape<In>) {
            constexpr bool fits = padding::is_same || (Kernel <= In::dims[0] && Kernel <= In::dims[1]);
            static_assert(
                fits,
                "conv2d kernel is larger than its input with valid padding: use strata::same padding or a "
                "smaller kernel");
            return fits;
        }
        return false;
    }
    template <class T, class In>
    using bind = conv2d_layer<T, In, Filters, Kernel, Activation, stride_value, padding::is_same, bias,
                              initializer, weight_penalties_from<Options...>>;
};

// The activation may be left out: conv2d<32, 3, same> reads as Keras'
// Conv2D(32, 3, padding="same") and applies none.
template <std::size_t Filters, std::size_t Kernel, class Activation = identity, class... Options>
struct conv2d : std::conditional_t<detail::has_option_kind<Activation>::value,
                                   conv2d_spec<Filters, Kernel, identity, Activation, Options...>,
                                   conv2d_spec<Filters, Kernel, Activation, Options...>> {};

}  // namespace strata
