// Fully connected layer over a flat input: dense<Units, Activation, options...>
// with use_bias/no_bias and an initializer. Weights are stored [input][unit] so
// the batch forward pass is one matrix product.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

#include "../init/initializers.hpp"
#include "../simd/gemm.hpp"
#include "activation.hpp"
#include "conv2d.hpp"
#include "layer.hpp"

namespace strata {

template <class T, class In, std::size_t Units, class Activation, bool Bias, class Init,
          class Penalties = weight_penalties<no_penalty, no_penalty>>
struct dense_layer : Penalties {
    static_assert(detail::check_initializer<Init, T>());
    static_assert(is_flat_shape<In>,
                  "dense expects a flat input: put strata::flatten (or global_avg_pool) before it");
    static constexpr std::size_t inputs = In::size;
    using in_shape = In;
    using out_shape = shape<Units>;
    using activation = Activation;
    static constexpr std::string_view name = "dense";
    // Weight tensor as stored, and where each of PyTorch's axes (out, in) is in it.
    static constexpr std::array<std::size_t, 2> weight_dims{inputs, Units};
    static constexpr std::array<std::size_t, 2> torch_axes{1, 0};
    static constexpr std::size_t weight_count = inputs * Units;
    static constexpr std::size_t bias_count = Bias ? Units : 0;
    static constexpr std::size_t param_count = weight_count + bias_count;
    // Worth splitting across threads for one sample: from ~100k weights, and
    // only for element-wise activations (softmax needs the whole row).
    // The register tile of a product with Units columns.
    using tile = simd::detail::gemm_tile<T, simd::tile_vectors<T>(Units)>;
    static constexpr bool split_worthwhile =
        Activation::elementwise && weight_count >= 100'000 && Units >= 2 * tile::nr;

    // The input gradient dout W^T would pack W^T (inputs x Units) on every
    // call; din^T = W dout^T reads W in place instead, packing only dout^T
    // (its columns padded to whole register tiles) and transposing the
    // result. Worth it where W is large, at a depth W's rows can stream at.
    static constexpr bool gradient_reads_weights_in_place =
        weight_count >= 16384 && Units <= simd::max_fixed_depth;
    static constexpr std::size_t gradient_tile_columns = simd::detail::gemm_tile<T, 2>::nr;
    static std::size_t padded_samples(std::size_t n) {
        return (n + gradient_tile_columns - 1) / gradient_tile_columns * gradient_tile_columns;
    }
    static std::size_t workspace_size(std::size_t n) {
        if constexpr (gradient_reads_weights_in_place)
            return round_up_to_line<T>(Units * padded_samples(n)) + inputs * padded_samples(n);
        else
            return 0;
    }
    void bind_parameters(T* p) { params_ = p; }
    void initialize(rng& r) {
        Init::fill(params_, weight_count, inputs, Units, r);
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
        if constexpr (split_worthwhile) {
            // The executor offers its idle threads only for a batch too small to give
            // each its own samples: then each streams its share of the units' weights.
            if (ctx.pool) {
                constexpr std::size_t nr = tile::nr;
                const std::size_t parts = std::min(ctx.pool->size(), Units / nr);
                auto share = [&](std::size_t part) {
                    // Boundaries on whole register tiles keep W readable in place.
                    const std::size_t j0 = part * (Units / nr) / parts * nr;
                    const std::size_t j1 = part + 1 == parts ? Units : (part + 1) * (Units / nr) / parts * nr;
                    detail::gemm_bias_activation<T, Activation, 0, tile::vectors>(
                        n, j1 - j0, inputs,
                        {in, inputs, false, weights() + j0, Units, false, out + j0, Units},
                        Bias ? bias() + j0 : nullptr);
                };
                ctx.pool->run(parts, std::cref(share));
                return;
            }
        }
        detail::gemm_bias_activation<T, Activation, 0, tile::vectors>(
            n, Units, inputs, {in, inputs, false, weights(), Units, false, out, Units}, bias());
    }

    void backward(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>& ctx) const {
        detail::bias_activation_backward<T, Activation, Units>(out, dout,
                                                               Bias ? dparams + weight_count : nullptr, n);
        simd::gemm<T, tile::vectors>(inputs, Units, n, {in, inputs, true, dout, Units, false, dparams, Units},
                                     true);
        if (!din) return;
        if constexpr (gradient_reads_weights_in_place) {
            const std::size_t columns = padded_samples(n);
            T* const dout_t = ctx.workspace;
            T* const din_t = ctx.workspace + round_up_to_line<T>(Units * columns);
            simd::transpose(dout, n, Units, Units, dout_t, columns);
            for (std::size_t u = 0; u < Units; ++u)
                std::fill(dout_t + u * columns + n, dout_t + (u + 1) * columns, T(0));
            simd::gemm_fixed_depth<T, Units, 2>(inputs, columns, weights(), dout_t, columns, din_t, columns,
                                                false);
            simd::transpose(din_t, inputs, n, columns, din, inputs);
        } else {
            simd::gemm<T, simd::tile_vectors<T>(inputs)>(
                n, inputs, Units, {dout, Units, false, weights(), Units, true, din, inputs}, false);
        }
    }

private:
    T* params_ = nullptr;
};

template <std::size_t Units, class Activation = identity, class... Options>
struct dense {
    static constexpr bool options_known =
        (detail::allowed_kinds<bias_option_kind, initializer_option_kind, kernel_regularizer_option_kind,
                               bias_regularizer_option_kind>::template accepts<Options>() &&
         ...);
    using initializer = option_t<initializer_option_kind, init::glorot_uniform, Options...>;
    static constexpr bool bias = option_t<bias_option_kind, use_bias, Options...>::value;

    template <class T, class In>
    static constexpr bool accepts() {
        static_assert(Units >= 1, "dense needs at least one unit");
        static_assert(
            options_known,
            "dense options are use_bias or no_bias, an initializer from strata::init, kernel_regularizer<R> "
            "and bias_regularizer<R>");
        static_assert(!options_known || is_flat_shape<In>,
                      "dense expects a flat input: put strata::flatten (or global_avg_pool) before it");
        return options_known && Units >= 1 && is_flat_shape<In>;
    }
    template <class T, class In>
    using bind = dense_layer<T, In, Units, Activation, bias, initializer, weight_penalties_from<Options...>>;
};

}  // namespace strata
