// Inverted dropout: in training each value is zeroed with probability `rate`
// and the survivors scaled by 1/(1-rate), so inference is the identity. The
// mask comes from (step seed, layer, sample index), so it does not depend on
// how the batch was split across threads, and the same seed gives the same mask.
#pragma once

#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "../core/random.hpp"
#include "../core/real.hpp"
#include "layer.hpp"

namespace strata {

template <class T, class In, real Rate>
struct dropout_layer : parameter_free_layer {
    using in_shape = In;
    using out_shape = In;
    static constexpr std::string_view name = "dropout";

    static std::size_t workspace_size(std::size_t n) { return n * In::size; }  // the mask

    double rate() const noexcept { return rate_; }
    // Tunable between epochs; 0 turns the layer off.
    void set_rate(double r) {
        if (!(r >= 0.0 && r < 1.0))
            throw std::invalid_argument("dropout rate must be in [0, 1), got " + std::to_string(r));
        rate_ = r;
    }

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>& ctx) const {
        if (!ctx.training || rate_ == 0.0) {
            std::memcpy(out, in, n * In::size * sizeof(T));
            return;
        }
        const T keep_scale = T(1.0 / (1.0 - rate_));
        // Compare raw 64-bit draws with a threshold: exact for any rate.
        const auto threshold = static_cast<std::uint64_t>(rate_ * 18446744073709551616.0);
        for (std::size_t s = 0; s < n; ++s) {
            rng stream(mix_keys(ctx.step_seed, ctx.layer_index, ctx.first_sample + s));
            T* mask = ctx.workspace + s * In::size;
            for (std::size_t i = 0; i < In::size; ++i)
                mask[i] = stream.next() < threshold ? T(0) : keep_scale;
        }
        for (std::size_t i = 0; i < n * In::size; ++i) out[i] = in[i] * ctx.workspace[i];
    }

    void backward(const T*, const T*, T* dout, T* din, T*, std::size_t n, const pass_context<T>& ctx) const {
        if (!din) return;
        if (!ctx.training || rate_ == 0.0) {
            std::memcpy(din, dout, n * In::size * sizeof(T));
            return;
        }
        for (std::size_t i = 0; i < n * In::size; ++i) din[i] = dout[i] * ctx.workspace[i];
    }

private:
    double rate_ = Rate.value();
};

template <real Rate>
struct dropout {
    static_assert(Rate.value() >= 0.0 && Rate.value() < 1.0, "dropout rate must be in [0, 1)");
    template <class T, class In>
    using bind = dropout_layer<T, In, Rate>;
};

}  // namespace strata
