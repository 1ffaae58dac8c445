// Batch normalization over the last axis (channels after a convolution,
// features after a dense layer), as Keras' BatchNormalization:
//   training:  y = gamma (x - mean_B) / sqrt(var_B + epsilon) + beta with the
//              batch's mean and (biased) variance over samples and pixels, and
//              moving = momentum moving + (1 - momentum) batch statistic;
//   inference: the same with the moving mean and variance.
// Defaults are Keras' (momentum 0.99, epsilon 1e-3); PyTorch's momentum 0.1
// is Keras' 0.9. Unlike PyTorch, the moving variance is updated with the
// biased batch variance, as Keras does.
// The batch statistics cover the whole batch, not one thread's slice: the
// slices' sums are combined through pass_context::all_reduce, so results do
// not depend on the thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "../core/simd.hpp"
#include "activation.hpp"
#include "layer.hpp"

namespace strata {

namespace detail {
// Calls body(row * Channels + c, c, V{}) for rows [first, end): every value
// of those rows, a vector of channels at a time.
template <class T, std::size_t Channels, class Body>
inline void over_rows(std::size_t first, std::size_t end, Body&& body) {
    for (std::size_t r = first; r < end; ++r)
        simd::over_channels<T, Channels>([&](std::size_t c, auto v) { body(r * Channels + c, c, v); });
}
}  // namespace detail

template <class T, class In>
struct batch_norm_layer {
    static constexpr std::size_t channels = channels_of<In>;
    static constexpr std::size_t pixels = In::size / channels;  // per sample
    using in_shape = In;
    using out_shape = In;
    static constexpr std::string_view name = "batch_norm";
    static constexpr std::size_t param_count = 2 * channels;  // gamma, beta
    static constexpr std::size_t state_count = 2 * channels;  // moving mean, moving variance
    static constexpr std::size_t sync_width = 2 * channels + 1;
    // The statistics forward used (mean, 1/sqrt(var + epsilon)), for backward.
    static std::size_t workspace_size(std::size_t) { return 2 * channels; }
    void bind_parameters(T* p) { params_ = p; }
    void bind_state(T* s) { state_ = s; }
    void initialize(rng&) {
        std::fill_n(params_, channels, T(1));
        std::fill_n(params_ + channels, channels, T(0));
        std::fill_n(state_, channels, T(0));
        std::fill_n(state_ + channels, channels, T(1));
    }

    T* gamma() noexcept { return params_; }
    T* beta() noexcept { return params_ + channels; }
    const T* gamma() const noexcept { return params_; }
    const T* beta() const noexcept { return params_ + channels; }
    const T* moving_mean() const noexcept { return state_; }
    const T* moving_variance() const noexcept { return state_ + channels; }
    template <class Self, class F>
    static void visit_tensors(Self& self, F&& f) {
        using V = std::conditional_t<std::is_const_v<Self>, const T, T>;
        f(tensor_ref<V>{"gamma", "weight", self.params_, channels, true, {channels}});
        f(tensor_ref<V>{"beta", "bias", self.params_ + channels, channels, true, {channels}});
        f(tensor_ref<V>{"moving_mean", "running_mean", self.state_, channels, false, {channels}});
        f(tensor_ref<V>{
            "moving_variance", "running_var", self.state_ + channels, channels, false, {channels}});
    }

    double momentum() const noexcept { return momentum_; }
    double epsilon() const noexcept { return epsilon_; }
    void set_momentum(double m) {
        if (!(m >= 0.0 && m <= 1.0))
            throw std::invalid_argument("batch_norm momentum must be in [0, 1], got " + std::to_string(m));
        momentum_ = m;
    }
    void set_epsilon(double e) {
        if (!(e > 0.0))
            throw std::invalid_argument("batch_norm epsilon must be positive, got " + std::to_string(e));
        epsilon_ = e;
    }

    // In training mode this also updates the moving statistics (once per
    // batch, by the first slice's thread).
    void forward(const T* in, T* out, std::size_t n, const pass_context<T>& ctx) const {
        forward_activated<identity>(in, out, n, ctx);
    }
    void backward(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>& ctx) const {
        backward_activated<identity>(in, out, dout, din, dparams, n, ctx);
    }

    // The layer and an element-wise activation after it in one pass each way
    // (layer_list runs the pair so): out = Activation(batch_norm(in)), and
    // backward takes that out. Two passes over the activations fewer each way.
    template <class Activation>
    void forward_activated(const T* in, T* out, std::size_t n, const pass_context<T>& ctx) const {
        normalize<Activation>(in, nullptr, out, n, ctx);
    }

    // out = Activation(batch_norm(in) + addend): a residual block's sum (and
    // the activation after it) in the store of its last layer, so the block's
    // own output is never written. Backward does not need it: with no
    // activation of its own, backward_activated reads no output.
    template <class Activation>
    void forward_added(const T* in, const T* addend, T* out, std::size_t n,
                       const pass_context<T>& ctx) const {
        normalize<Activation>(in, addend, out, n, ctx);
    }

    // dout is dloss/dout; with an activation it becomes dloss/d(batch_norm's
    // output) in place, which din's pass then reads.
    template <class Activation>
    void backward_activated(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                            const pass_context<T>& ctx) const {
        constexpr bool activated = !std::is_same_v<Activation, identity>;
        const std::size_t rows = n * pixels;
        const T* mean = ctx.workspace;
        const T* inv_std = ctx.workspace + channels;
        // Per channel: sum of dy and of dy * xhat, with xhat = (x - mean) inv_std.
        std::array<double, 2 * channels + 1> sums{};
        sum_rows(rows, sums.data(), [&](std::size_t at, std::size_t c, auto v) {
            using V = decltype(v);
            V dy = simd::load_as<V>(dout + at);
            if constexpr (activated) {
                dy = dy * Activation::derivative_from_output(simd::load_as<V>(out + at));
                simd::store_as(dout + at, dy);
            }
            const V xhat =
                (simd::load_as<V>(in + at) - simd::load_as<V>(mean + c)) * simd::load_as<V>(inv_std + c);
            return std::array<V, 2>{dy, dy * xhat};
        });
        // This slice's share of dgamma and dbeta; the executor sums the slices.
        for (std::size_t c = 0; c < channels; ++c) {
            dparams[c] += static_cast<T>(sums[channels + c]);
            dparams[channels + c] += static_cast<T>(sums[c]);
        }
        if (!din) return;
        // din = a dy + b x + d per channel. In training mean and variance
        // depend on x, which adds the b and the sum terms.
        alignas(64) std::array<T, channels> a, b, d;
        double count = 0;
        if (ctx.training) {
            sums[2 * channels] = static_cast<double>(rows);
            ctx.all_reduce(sums);
            count = sums[2 * channels];
        }
        for (std::size_t c = 0; c < channels; ++c) {
            const double scale = double(gamma()[c]) * inv_std[c];
            a[c] = static_cast<T>(scale);
            if (ctx.training) {
                const double bc = -scale * inv_std[c] * sums[channels + c] / count;
                b[c] = static_cast<T>(bc);
                d[c] = static_cast<T>(-scale * sums[c] / count - bc * mean[c]);
            } else {
                b[c] = d[c] = T(0);
            }
        }
        detail::over_rows<T, channels>(0, rows, [&](std::size_t at, std::size_t c, auto v) {
            using V = decltype(v);
            simd::store_as(din + at, simd::load_as<V>(dout + at) * simd::load_as<V>(a.data() + c) +
                                         simd::load_as<V>(in + at) * simd::load_as<V>(b.data() + c) +
                                         simd::load_as<V>(d.data() + c));
        });
    }

private:
    // forward_activated and forward_added: statistics (batch or moving), then
    // one pass that normalizes, adds addend when there is one, and activates.
    template <class Activation>
    void normalize(const T* in, const T* addend, T* out, std::size_t n, const pass_context<T>& ctx) const {
        const std::size_t rows = n * pixels;
        T* mean = ctx.workspace;
        T* inv_std = ctx.workspace + channels;
        if (ctx.training) {
            // One pass for sum and sum of squares of x - shift. The shift (the
            // moving mean, the same in every slice) keeps the variance
            // E[(x-shift)^2] - E[x-shift]^2 from cancelling when |mean| >> std.
            // Copied: the first slice updates the moving mean once the sums are
            // combined, while the others may still be reading the shift.
            alignas(64) std::array<T, channels> shift;
            std::copy_n(state_, channels, shift.data());
            std::array<double, 2 * channels + 1> sums{};
            sum_rows(rows, sums.data(), [&](std::size_t at, std::size_t c, auto v) {
                using V = decltype(v);
                const V d = simd::load_as<V>(in + at) - simd::load_as<V>(shift.data() + c);
                return std::array<V, 2>{d, d * d};
            });
            sums[2 * channels] = static_cast<double>(rows);
            ctx.all_reduce(sums);
            // A process with no samples in this batch (data-parallel training
            // without synchronised statistics) has nothing to normalise or learn from.
            if (sums[2 * channels] == 0) return;
            const double count = sums[2 * channels];
            for (std::size_t c = 0; c < channels; ++c) {
                const double shifted_mean = sums[c] / count;
                const double batch_mean = shifted_mean + shift[c];
                const double variance =
                    std::max(0.0, sums[channels + c] / count - shifted_mean * shifted_mean);
                mean[c] = static_cast<T>(batch_mean);
                inv_std[c] = static_cast<T>(1.0 / std::sqrt(variance + epsilon_));
                if (ctx.participant == 0) {
                    state_[c] = static_cast<T>(momentum_ * state_[c] + (1 - momentum_) * batch_mean);
                    state_[channels + c] =
                        static_cast<T>(momentum_ * state_[channels + c] + (1 - momentum_) * variance);
                }
            }
        } else {
            for (std::size_t c = 0; c < channels; ++c) {
                mean[c] = state_[c];
                inv_std[c] = static_cast<T>(1.0 / std::sqrt(double(state_[channels + c]) + epsilon_));
            }
        }
        // y = x scale + shift, per channel.
        alignas(64) std::array<T, channels> scale, shift;
        for (std::size_t c = 0; c < channels; ++c) {
            scale[c] = gamma()[c] * inv_std[c];
            shift[c] = beta()[c] - mean[c] * scale[c];
        }
        detail::over_rows<T, channels>(0, rows, [&](std::size_t at, std::size_t c, auto v) {
            using V = decltype(v);
            V y = simd::load_as<V>(in + at) * simd::load_as<V>(scale.data() + c) +
                  simd::load_as<V>(shift.data() + c);
            if (addend) y = y + simd::load_as<V>(addend + at);
            simd::store_as(out + at, Activation::value(y));
        });
    }

    // For the K terms term(row * channels + c, c, V{}) returns as std::array<V, K>:
    // sums[k * channels + c] += their sum over rows. Terms are added in T
    // within blocks of rows and in double across blocks, which keeps float
    // sums over ~10^5 rows accurate.
    template <class Term>
    static void sum_rows(std::size_t rows, double* sums, Term&& term) {
        constexpr std::size_t terms = std::tuple_size_v<decltype(term(0, 0, T{}))>;
        constexpr std::size_t block_rows = 64;
        alignas(64) std::array<T, terms * channels> block;
        for (std::size_t r0 = 0; r0 < rows; r0 += block_rows) {
            block.fill(T(0));
            const std::size_t r1 = std::min(rows, r0 + block_rows);
            detail::over_rows<T, channels>(r0, r1, [&](std::size_t at, std::size_t c, auto v) {
                using V = decltype(v);
                const auto values = term(at, c, v);
                for (std::size_t k = 0; k < terms; ++k) {
                    T* acc = block.data() + k * channels + c;
                    simd::store_as(acc, simd::load_as<V>(acc) + values[k]);
                }
            });
            for (std::size_t i = 0; i < terms * channels; ++i) sums[i] += block[i];
        }
    }

    T* params_ = nullptr;
    T* state_ = nullptr;
    double momentum_ = 0.99;
    double epsilon_ = 1e-3;
};

struct batch_norm {
    template <class T, class In>
    using bind = batch_norm_layer<T, In>;
};

}  // namespace strata
