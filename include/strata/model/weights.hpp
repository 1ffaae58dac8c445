// Saving and loading a network's parameters as NumPy .npy files, one file per
// tensor in a directory, in strata's layout or in PyTorch's:
//   <index>_<layer>.weight.npy   conv2d: strata (kh, kw, in, out), PyTorch (out, in, kh, kw)
//                                dense:  strata (in, out),         PyTorch (out, in)
//   <index>_<layer>.bias.npy     (out) in both
//   <index>_batch_norm.<tensor>.npy  (channels): gamma, beta, moving_mean,
//                                moving_variance; PyTorch: weight, bias,
//                                running_mean, running_var
// where <index> is the layer's position in the sequential (0_conv2d, 5_dense).
// Files are written to a temporary name and renamed, so a crash never leaves
// a half-written tensor. Loading checks each file completely (numpy's header
// rules, dtype, memory order, shape, size, finite values) before using it and
// names the tensor and the file in every error.
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../data/npy.hpp"
#include "sequential.hpp"

namespace strata {

enum class weight_layout { strata, pytorch };

namespace detail {

// Strata's weight tensor seen in the requested layout: dims, and for each
// position in that layout the matching flat index in strata's storage.
template <class L>
std::vector<std::size_t> layout_dims(weight_layout layout) {
    std::vector<std::size_t> dims(L::weight_dims.size());
    for (std::size_t a = 0; a < dims.size(); ++a)
        dims[a] = layout == weight_layout::pytorch ? L::weight_dims[L::torch_axes[a]] : L::weight_dims[a];
    return dims;
}

template <class L>
std::vector<std::size_t> strata_index_of(weight_layout layout) {
    constexpr std::size_t rank = L::weight_dims.size();
    std::array<std::size_t, rank> strides{};
    strides[rank - 1] = 1;
    for (std::size_t a = rank - 1; a > 0; --a) strides[a - 1] = strides[a] * L::weight_dims[a];
    const auto dims = layout_dims<L>(layout);
    std::vector<std::size_t> index(L::weight_count);
    std::array<std::size_t, rank> at{};  // position in the requested layout, row-major
    for (std::size_t flat = 0; flat < L::weight_count; ++flat) {
        std::size_t src = 0;
        for (std::size_t a = 0; a < rank; ++a)
            src += at[a] * strides[layout == weight_layout::pytorch ? L::torch_axes[a] : a];
        index[flat] = src;
        for (std::size_t a = rank; a-- > 0;) {
            if (++at[a] < dims[a]) break;
            at[a] = 0;
        }
    }
    return index;
}

template <class L>
concept has_kernel = requires {
    L::weight_dims;
};
template <class L>
concept has_named_tensors = requires {
    L::tensors;
};

// f(layer, index, parameters, state) for each layer that has tensors to store.
template <class Net, class F>
void for_each_weighted_layer(Net& net, F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using L = typename Net::template layer_type<I>;
                static_assert(L::param_count == 0 || has_kernel<L> || has_named_tensors<L>,
                              "save/load: a layer with parameters must describe its tensors "
                              "(weight_dims or tensors)");
                if constexpr (L::param_count > 0)
                    f.template operator()<L>(net.template layer<I>(), I,
                                             net.parameters().data() + Net::param_offsets[I],
                                             net.state().data() + Net::state_offsets[I]);
            }(),
            ...);
    }
    (std::make_index_sequence<Net::layer_count>{});
}

inline std::string named_tensor_file(const std::string& stem, const named_tensor& t, weight_layout layout) {
    return stem + "." + std::string(layout == weight_layout::pytorch ? t.torch_name : t.name);
}

inline std::string tensor_stem(std::size_t index, std::string_view layer) {
    return std::to_string(index) + "_" + std::string(layer);
}

}  // namespace detail

// Writes every parameter and state tensor of net into dir (created if missing).
template <class T, class Input, class... Layers>
void save_weights(const basic_sequential<T, Input, Layers...>& net, const std::filesystem::path& dir,
                  weight_layout layout = weight_layout::strata) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw data_error("cannot create " + dir.string() + ": " + ec.message());
    detail::for_each_weighted_layer(net, [&]<class L>(const L& layer, std::size_t i, const T* params,
                                                      const T* state) {
        const std::string stem = detail::tensor_stem(i, L::name);
        if constexpr (detail::has_named_tensors<L>) {
            for (const auto& t : L::tensors)
                detail::save_tensor(dir / (detail::named_tensor_file(stem, t, layout) + ".npy"),
                                    (t.trainable ? params : state) + t.offset, {t.count});
        } else {
            const auto index = detail::strata_index_of<L>(layout);
            std::vector<T> weights(L::weight_count);
            for (std::size_t k = 0; k < weights.size(); ++k) weights[k] = layer.weights()[index[k]];
            detail::save_tensor(dir / (stem + ".weight.npy"), weights.data(), detail::layout_dims<L>(layout));
            if (L::bias_count) detail::save_tensor(dir / (stem + ".bias.npy"), layer.bias(), {L::bias_count});
        }
    });
}

// Reads every parameter and state tensor of net from dir. Every tensor is checked
// before any is applied, so a bad directory leaves the network unchanged.
// NaN or infinite values are refused unless non_finite is allow.
template <class T, class Input, class... Layers>
void load_weights(basic_sequential<T, Input, Layers...>& net, const std::filesystem::path& dir,
                  weight_layout layout = weight_layout::strata,
                  non_finite_values non_finite = non_finite_values::reject) {
    std::vector<T> staged(net.parameters().size()), staged_state(net.state().size());
    const T* base = net.parameters().data();
    const T* state_base = net.state().data();
    // Where a live parameter or state value's staged copy is.
    auto staged_param = [&](const T* live) { return staged.data() + (live - base); };
    auto staged_state_value = [&](const T* live) { return staged_state.data() + (live - state_base); };
    detail::for_each_weighted_layer(net, [&]<class L>(L& layer, std::size_t i, T* params, T* state) {
        const std::string stem = detail::tensor_stem(i, L::name);
        if constexpr (detail::has_named_tensors<L>) {
            for (const auto& t : L::tensors) {
                const auto name = detail::named_tensor_file(stem, t, layout);
                detail::load_tensor(
                    dir / (name + ".npy"), name, {t.count},
                    t.trainable ? staged_param(params + t.offset) : staged_state_value(state + t.offset),
                    non_finite);
            }
        } else {
            std::vector<T> weights(L::weight_count);
            detail::load_tensor(dir / (stem + ".weight.npy"), stem + ".weight",
                                detail::layout_dims<L>(layout), weights.data(), non_finite);
            const auto index = detail::strata_index_of<L>(layout);
            T* w = staged_param(layer.weights());
            for (std::size_t k = 0; k < weights.size(); ++k) w[index[k]] = weights[k];
            if (L::bias_count)
                detail::load_tensor(dir / (stem + ".bias.npy"), stem + ".bias", {L::bias_count},
                                    staged_param(layer.bias()), non_finite);
        }
    });
    std::copy(staged.begin(), staged.end(), net.parameters().begin());
    std::copy(staged_state.begin(), staged_state.end(), net.state().begin());
}

}  // namespace strata
