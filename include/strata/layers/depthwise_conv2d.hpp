// depthwise_conv2d<Kernel, Multiplier, Activation, options...>: each input
// channel convolved with its own Multiplier kernels (MobileNet's depthwise
// step; followed by conv2d<F, 1> it is a separable convolution), as Keras'
// DepthwiseConv2D and PyTorch's Conv2d(C, C * M, K, groups=C). Output channel
// c * M + m comes from input channel c. Options as conv2d: stride<S>, valid
// (default) or same, use_bias or no_bias, an initializer. Weights are stored
// [kh][kw][1][C * M] (Keras' (kh, kw, C, M) in the same order), PyTorch's
// (C * M, 1, kh, kw) with the axes permuted.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

#include "conv2d.hpp"

namespace strata {

template <class T, class In, std::size_t Kernel, std::size_t Multiplier, class Activation, std::size_t Stride,
          bool Same, bool Bias, class Init, class Penalties = weight_penalties<no_penalty, no_penalty>>
struct depthwise_conv2d_layer : Penalties {
    static_assert(detail::check_initializer<Init, T>());
    static_assert(Activation::elementwise, "depthwise_conv2d takes an element-wise activation");
    static constexpr std::size_t H = In::dims[0], W = In::dims[1], C = In::dims[2], F = C * Multiplier;
    using rows_axis = detail::conv_axis<H, Kernel, Stride, Same>;
    using cols_axis = detail::conv_axis<W, Kernel, Stride, Same>;
    static constexpr std::size_t OH = rows_axis::out, OW = cols_axis::out;

    using in_shape = In;
    using out_shape = shape<OH, OW, F>;
    using activation = Activation;
    static constexpr std::string_view name = "depthwise_conv2d";
    static constexpr std::array<std::size_t, 4> weight_dims{Kernel, Kernel, 1, F};
    static constexpr std::array<std::size_t, 4> torch_axes{3, 2, 0, 1};
    static constexpr std::size_t weight_count = Kernel * Kernel * F;
    static constexpr std::size_t bias_count = Bias ? F : 0;
    static constexpr std::size_t param_count = weight_count + bias_count;

    static std::size_t workspace_size(std::size_t) { return 0; }
    void bind_parameters(T* p) { params_ = p; }
    void initialize(rng& r) {
        // Keras' fans for a (kh, kw, C, M) kernel: kh kw C in, kh kw M out.
        Init::fill(params_, weight_count, Kernel * Kernel * C, Kernel * Kernel * Multiplier, r);
        std::fill_n(params_ + weight_count, bias_count, T(0));
    }
    T* weights() noexcept { return params_; }
    const T* weights() const noexcept { return params_; }
    T* bias() noexcept { return Bias ? params_ + weight_count : nullptr; }
    const T* bias() const noexcept { return Bias ? params_ + weight_count : nullptr; }
    template <class Self, class F_>
    static void visit_tensors(Self& self, F_&& f) {
        visit_kernel_and_bias(self, f);
    }

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>&) const {
        for (std::size_t s = 0; s < n; ++s)
            for (std::size_t oy = 0; oy < OH; ++oy)
                for (std::size_t ox = 0; ox < OW; ++ox) {
                    T* o = out + ((s * OH + oy) * OW + ox) * F;
                    for (std::size_t f = 0; f < F; ++f) o[f] = Bias ? bias()[f] : T(0);
                    for_each_tap(oy, ox, [&](std::size_t y, std::size_t x, std::size_t tap) {
                        const T* i = in + ((s * H + y) * W + x) * C;
                        const T* w = weights() + tap * F;
                        for (std::size_t c = 0; c < C; ++c)
                            for (std::size_t m = 0; m < Multiplier; ++m)
                                o[c * Multiplier + m] += i[c] * w[c * Multiplier + m];
                    });
                }
        Activation::forward_inplace(out, n * out_shape::size, F);
    }

    void backward(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>&) const {
        detail::bias_activation_backward<T, Activation, F>(out, dout, Bias ? dparams + weight_count : nullptr,
                                                           n * OH * OW);
        if (din) std::fill_n(din, n * In::size, T(0));
        for (std::size_t s = 0; s < n; ++s)
            for (std::size_t oy = 0; oy < OH; ++oy)
                for (std::size_t ox = 0; ox < OW; ++ox) {
                    const T* d = dout + ((s * OH + oy) * OW + ox) * F;
                    for_each_tap(oy, ox, [&](std::size_t y, std::size_t x, std::size_t tap) {
                        const std::size_t at = ((s * H + y) * W + x) * C;
                        const T* i = in + at;
                        T* dw = dparams + tap * F;
                        const T* w = weights() + tap * F;
                        for (std::size_t c = 0; c < C; ++c) {
                            T back = 0;
                            for (std::size_t m = 0; m < Multiplier; ++m) {
                                dw[c * Multiplier + m] += i[c] * d[c * Multiplier + m];
                                back += w[c * Multiplier + m] * d[c * Multiplier + m];
                            }
                            if (din) din[at + c] += back;
                        }
                    });
                }
    }

private:
    // f(y, x, ky * Kernel + kx) for each kernel tap of output pixel (oy, ox) inside the image.
    template <class F_>
    static void for_each_tap(std::size_t oy, std::size_t ox, F_&& f) {
        for (std::size_t ky = 0; ky < Kernel; ++ky) {
            const auto y = static_cast<std::ptrdiff_t>(oy * Stride + ky) -
                           static_cast<std::ptrdiff_t>(rows_axis::pad_before);
            if (y < 0 || y >= static_cast<std::ptrdiff_t>(H)) continue;
            for (std::size_t kx = 0; kx < Kernel; ++kx) {
                const auto x = static_cast<std::ptrdiff_t>(ox * Stride + kx) -
                               static_cast<std::ptrdiff_t>(cols_axis::pad_before);
                if (x < 0 || x >= static_cast<std::ptrdiff_t>(W)) continue;
                f(static_cast<std::size_t>(y), static_cast<std::size_t>(x), ky * Kernel + kx);
            }
        }
    }
    T* params_ = nullptr;
};

template <std::size_t Kernel, std::size_t Multiplier, class Activation, class... Options>
struct depthwise_conv2d_spec : detail::conv_options<Options...> {
    using base = detail::conv_options<Options...>;
    using base::bias;
    using base::options_known;
    using base::stride_value;
    using typename base::initializer;
    using typename base::padding;

    template <class T, class In>
    static constexpr bool accepts() {
        static_assert(Kernel >= 1 && Multiplier >= 1,
                      "depthwise_conv2d needs a kernel and a multiplier of 1 or more");
        static_assert(
            options_known,
            "depthwise_conv2d options are stride<S>, valid or same, use_bias or no_bias, an initializer "
            "from strata::init, kernel_regularizer<R> and bias_regularizer<R>");
        if constexpr (!options_known || Kernel == 0 || Multiplier == 0) return false;
        static_assert(is_image_shape<In>,
                      "depthwise_conv2d expects an image input (height, width, channels)");
        if constexpr (is_image_shape<In>) {
            constexpr bool fits = padding::is_same || (Kernel <= In::dims[0] && Kernel <= In::dims[1]);
            static_assert(fits, "depthwise_conv2d kernel is larger than its input with valid padding");
            return fits;
        }
        return false;
    }
    template <class T, class In>
    using bind = depthwise_conv2d_layer<T, In, Kernel, Multiplier, Activation, stride_value, padding::is_same,
                                        bias, initializer, weight_penalties_from<Options...>>;
};

// depthwise_conv2d<3> is one 3x3 kernel per channel; the activation may be left out.
template <std::size_t Kernel, std::size_t Multiplier = 1, class Activation = identity, class... Options>
struct depthwise_conv2d
    : std::conditional_t<detail::has_option_kind<Activation>::value,
                         depthwise_conv2d_spec<Kernel, Multiplier, identity, Activation, Options...>,
                         depthwise_conv2d_spec<Kernel, Multiplier, Activation, Options...>> {};

}  // namespace strata
