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
// a half-written tensor. Loading checks each file completely (magic, dtype,
// memory order, shape, size) before using it and names the tensor and the
// file in every error.
#pragma once

#include <unistd.h>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "sequential.hpp"

namespace strata {

enum class weight_layout { strata, pytorch };

namespace detail {

struct npy_header {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::size_t> shape;
    std::size_t data_offset = 0;
};

inline std::string shape_text(const std::vector<std::size_t>& dims) {
    std::string s = "(";
    for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + (dims.size() == 1 ? ",)" : ")");
}

// Reads and checks an .npy header; the tensor's name goes into every message.
inline npy_header read_npy_header(const std::filesystem::path& file, const std::string& tensor) {
    const std::string where = "tensor " + tensor + " (" + file.string() + "): ";
    std::ifstream in(file, std::ios::binary);
    if (!in) throw data_error(where + "cannot open the file");
    char magic[8];
    if (!in.read(magic, 8) || std::string(magic, 6) != "\x93NUMPY")
        throw data_error(where + "not an .npy file (expected the magic \\x93NUMPY)");
    const int major = static_cast<unsigned char>(magic[6]);
    std::size_t header_len = 0;
    unsigned char len_bytes[4] = {};
    if (major == 1) {
        if (!in.read(reinterpret_cast<char*>(len_bytes), 2)) throw data_error(where + "truncated header");
        header_len = len_bytes[0] | (len_bytes[1] << 8);
    } else if (major == 2 || major == 3) {
        if (!in.read(reinterpret_cast<char*>(len_bytes), 4)) throw data_error(where + "truncated header");
        header_len =
            len_bytes[0] | (len_bytes[1] << 8) | (len_bytes[2] << 16) | (std::size_t(len_bytes[3]) << 24);
    } else {
        throw data_error(where + "unsupported .npy version " + std::to_string(major));
    }
    if (header_len > 1 << 20)
        throw data_error(where + "header length " + std::to_string(header_len) + " is absurd");
    std::string header(header_len, '\0');
    if (!in.read(header.data(), static_cast<std::streamsize>(header_len)))
        throw data_error(where + "truncated header");

    npy_header h;
    h.data_offset = static_cast<std::size_t>(in.tellg());
    auto value_of = [&](const std::string& key) {
        const auto at = header.find("'" + key + "':");
        if (at == std::string::npos) throw data_error(where + "header has no '" + key + "' field");
        std::size_t p = at + key.size() + 3;
        while (p < header.size() && header[p] == ' ') ++p;
        return p;
    };
    std::size_t p = value_of("descr");
    if (p >= header.size() || header[p] != '\'') throw data_error(where + "malformed 'descr' field");
    const auto end = header.find('\'', p + 1);
    if (end == std::string::npos) throw data_error(where + "malformed 'descr' field");
    h.descr = header.substr(p + 1, end - p - 1);
    h.fortran_order = header.compare(value_of("fortran_order"), 4, "True") == 0;
    p = value_of("shape");
    if (p >= header.size() || header[p] != '(') throw data_error(where + "malformed 'shape' field");
    const auto close = header.find(')', p);
    if (close == std::string::npos) throw data_error(where + "malformed 'shape' field");
    std::string dims = header.substr(p + 1, close - p - 1);
    for (std::size_t i = 0; i < dims.size();) {
        while (i < dims.size() && (dims[i] == ' ' || dims[i] == ',')) ++i;
        if (i >= dims.size()) break;
        std::size_t used = 0;
        try {
            h.shape.push_back(std::stoull(dims.substr(i), &used));
        } catch (const std::exception&) {
            throw data_error(where + "malformed 'shape' field");
        }
        i += used;
    }
    return h;
}

// Loads one tensor into dst (count values of T) after checking everything
// the file says against what the layer expects.
template <class T>
void load_tensor(const std::filesystem::path& file, const std::string& tensor,
                 const std::vector<std::size_t>& expected_shape, T* dst) {
    const std::string where = "tensor " + tensor + " (" + file.string() + "): ";
    if (!std::filesystem::exists(file)) throw data_error(where + "file not found");
    const npy_header h = read_npy_header(file, tensor);
    if (h.descr != "<f4" && h.descr != "<f8")
        throw data_error(where + "dtype '" + h.descr + "', expected float32 ('<f4') or float64 ('<f8')");
    if (h.fortran_order)
        throw data_error(where + "stored in Fortran (column-major) order; save it with np.ascontiguousarray");
    if (h.shape != expected_shape)
        throw data_error(where + "shape " + shape_text(h.shape) + ", expected " + shape_text(expected_shape));
    std::size_t count = 1;
    for (auto d : expected_shape) count *= d;
    const std::size_t item = h.descr == "<f4" ? 4 : 8;
    const auto size = std::filesystem::file_size(file);
    if (size != h.data_offset + count * item)
        throw data_error(where + "holds " + std::to_string(size - h.data_offset) +
                         " bytes of data, expected " + std::to_string(count * item) +
                         (size < h.data_offset + count * item ? " (truncated)" : ""));
    // The header is checked, so the data is count little-endian values at data_offset.
    std::ifstream in(file, std::ios::binary);
    std::vector<char> bytes(count * item);
    if (!in.seekg(static_cast<std::streamoff>(h.data_offset)) ||
        !in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())))
        throw data_error(where + "cannot read the data");
    auto convert = [&]<class Stored>(Stored) {
        for (std::size_t i = 0; i < count; ++i) {
            Stored v;
            std::memcpy(&v, bytes.data() + i * sizeof(Stored), sizeof(Stored));
            dst[i] = static_cast<T>(v);
        }
    };
    if (item == 4)
        convert(float{});
    else
        convert(double{});
}

// .npy version 1.0: magic, a header dict padded with spaces to a multiple of
// 64 bytes, then the values, little-endian and row-major.
template <class T>
void save_tensor(const std::filesystem::path& file, const T* src, const std::vector<std::size_t>& shape) {
    static_assert(std::endian::native == std::endian::little,
                  "strata writes .npy files on little-endian hosts");
    std::size_t count = 1;
    for (auto d : shape) count *= d;
    std::string header = std::string("{'descr': '") + (sizeof(T) == 4 ? "<f4" : "<f8") +
                         "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
    const std::size_t preamble = 10;  // magic (6), version (2), header length (2)
    header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    const auto temporary = file.string() + ".tmp-" + std::to_string(::getpid());
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        const char preamble_bytes[preamble] = {'\x93',
                                               'N',
                                               'U',
                                               'M',
                                               'P',
                                               'Y',
                                               1,
                                               0,
                                               static_cast<char>(header.size() & 0xff),
                                               static_cast<char>(header.size() >> 8)};
        out.write(preamble_bytes, preamble);
        out.write(header.data(), static_cast<std::streamsize>(header.size()));
        out.write(reinterpret_cast<const char*>(src), static_cast<std::streamsize>(count * sizeof(T)));
        out.close();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(temporary, ignored);
            throw data_error("cannot write " + file.string() + ": writing " + temporary + " failed");
        }
    }
    std::error_code ec;
    std::filesystem::rename(temporary, file, ec);
    if (ec) {
        std::filesystem::remove(temporary, ec);
        throw data_error("cannot write " + file.string() + ": " + ec.message());
    }
}

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
template <class T, class Input, class... Layers>
void load_weights(basic_sequential<T, Input, Layers...>& net, const std::filesystem::path& dir,
                  weight_layout layout = weight_layout::strata) {
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
                    t.trainable ? staged_param(params + t.offset) : staged_state_value(state + t.offset));
            }
        } else {
            std::vector<T> weights(L::weight_count);
            detail::load_tensor(dir / (stem + ".weight.npy"), stem + ".weight",
                                detail::layout_dims<L>(layout), weights.data());
            const auto index = detail::strata_index_of<L>(layout);
            T* w = staged_param(layer.weights());
            for (std::size_t k = 0; k < weights.size(); ++k) w[index[k]] = weights[k];
            if (L::bias_count)
                detail::load_tensor(dir / (stem + ".bias.npy"), stem + ".bias", {L::bias_count},
                                    staged_param(layer.bias()));
        }
    });
    std::copy(staged.begin(), staged.end(), net.parameters().begin());
    std::copy(staged_state.begin(), staged_state.end(), net.state().begin());
}

}  // namespace strata
