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

#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../data/npy.hpp"
#include "sequential.hpp"
#include "visit.hpp"

namespace strata {

enum class weight_layout { strata, pytorch };

namespace detail {

// A tensor's dims in the requested layout, and for each position in that
// layout (row-major) the flat index of the same value in strata's storage.
template <class Ref>
std::vector<std::size_t> layout_dims(const Ref& t, weight_layout layout) {
    std::vector<std::size_t> dims(t.rank);
    for (std::size_t a = 0; a < t.rank; ++a)
        dims[a] = t.dims[layout == weight_layout::pytorch ? t.torch_axes[a] : a];
    return dims;
}

template <class Ref>
std::vector<std::size_t> strata_index_of(const Ref& t, weight_layout layout) {
    std::array<std::size_t, 4> strides{};
    strides[t.rank - 1] = 1;
    for (std::size_t a = t.rank - 1; a > 0; --a) strides[a - 1] = strides[a] * t.dims[a];
    const auto dims = layout_dims(t, layout);
    std::vector<std::size_t> index(t.count);
    std::array<std::size_t, 4> at{};  // position in the requested layout
    for (std::size_t flat = 0; flat < t.count; ++flat) {
        std::size_t src = 0;
        for (std::size_t a = 0; a < t.rank; ++a)
            src += at[a] * strides[layout == weight_layout::pytorch ? t.torch_axes[a] : a];
        index[flat] = src;
        for (std::size_t a = t.rank; a-- > 0;) {
            if (++at[a] < dims[a]) break;
            at[a] = 0;
        }
    }
    return index;
}

template <class Ref>
std::string tensor_file_name(const layer_path& path, const Ref& t, weight_layout layout) {
    return path.to_string() + "." + std::string(layout == weight_layout::pytorch ? t.torch_name : t.name);
}

}  // namespace detail

// Writes every parameter and state tensor of net into dir (created if missing).
template <class T, class Input, class... Layers>
void save_weights(const basic_sequential<T, Input, Layers...>& net, const std::filesystem::path& dir,
                  weight_layout layout = weight_layout::strata) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw data_error("cannot create " + dir.string() + ": " + ec.message());
    std::vector<T> values;
    for_each_tensor(net, [&](const layer_path& path, const auto& t) {
        const auto index = detail::strata_index_of(t, layout);
        values.resize(t.count);
        for (std::size_t k = 0; k < t.count; ++k) values[k] = t.data[index[k]];
        detail::save_tensor(dir / (detail::tensor_file_name(path, t, layout) + ".npy"), values.data(),
                            detail::layout_dims(t, layout));
    });
}

// Reads every parameter and state tensor of net from dir. Every tensor is checked
// before any is applied, so a bad directory leaves the network unchanged.
// NaN or infinite values are refused unless non_finite is allow.
template <class T, class Input, class... Layers>
void load_weights(basic_sequential<T, Input, Layers...>& net, const std::filesystem::path& dir,
                  weight_layout layout = weight_layout::strata,
                  non_finite_values non_finite = non_finite_values::reject) {
    std::vector<T> staged(net.parameters().begin(), net.parameters().end()),
        staged_state(net.state().begin(), net.state().end()), values;
    for_each_tensor(net, [&](const layer_path& path, const auto& t) {
        const auto name = detail::tensor_file_name(path, t, layout);
        values.resize(t.count);
        detail::load_tensor(dir / (name + ".npy"), name, detail::layout_dims(t, layout), values.data(),
                            non_finite);
        T* staged_data = t.trainable ? staged.data() + (t.data - net.parameters().data())
                                     : staged_state.data() + (t.data - net.state().data());
        const auto index = detail::strata_index_of(t, layout);
        for (std::size_t k = 0; k < t.count; ++k) staged_data[index[k]] = values[k];
    });
    std::copy(staged.begin(), staged.end(), net.parameters().begin());
    std::copy(staged_state.begin(), staged_state.end(), net.state().begin());
}

}  // namespace strata
