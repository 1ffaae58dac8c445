// concat<Branches...>: every branch reads the same input and their outputs are
// joined along channels, in order (Inception-style blocks; Keras' Concatenate
// over the last axis). A branch is one spec or a chain<...>.
// skip_concat<Specs...>: y = concat(x, f(x)) with f the chain of Specs, the
// skip connection of a U-Net level.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "chain.hpp"
#include "layer.hpp"

namespace strata {

namespace detail {

// The shape of outputs joined along their last axis; they must agree on the others.
template <class... Shapes>
struct joined_shape;
template <std::size_t N, std::size_t... Rest>
struct joined_shape<shape<N>, shape<Rest>...> {
    using type = shape<(N + ... + Rest)>;
};
template <std::size_t H, std::size_t W, std::size_t C, class... Rest>
struct joined_shape<shape<H, W, C>, Rest...> {
    static_assert((std::is_same_v<shape<H, W, channels_of<Rest>>, Rest> && ...),
                  "concat: every branch must give the same height and width (and rank); only channels may "
                  "differ");
    using type = shape<H, W, (C + ... + channels_of<Rest>)>;
};

// Whether outputs of these shapes can be joined along their last axis.
template <class First, class... Rest>
constexpr bool joinable() {
    if constexpr (First::rank == 1)
        return ((Rest::rank == 1) && ...);
    else
        return ((Rest::rank == 3 && Rest::dims[0] == First::dims[0] && Rest::dims[1] == First::dims[1]) &&
                ...);
}
template <class... Shapes>
constexpr bool check_joinable() {
    constexpr bool ok = joinable<Shapes...>();
    static_assert(ok,
                  "concat: every branch must give the same height and width (and rank); only channels may "
                  "differ");
    return ok;
}

// out[p] = parts[0][p] | parts[1][p] | ... for each of pixels positions.
template <class T, std::size_t Parts>
void join_channels(const std::array<const T*, Parts>& parts, const std::array<std::size_t, Parts>& channels,
                   T* out, std::size_t pixels) {
    std::size_t total = 0;
    for (auto c : channels) total += c;
    for (std::size_t p = 0; p < pixels; ++p) {
        T* o = out + p * total;
        for (std::size_t b = 0; b < Parts; ++b) o = std::copy_n(parts[b] + p * channels[b], channels[b], o);
    }
}
// The gradient of part `which`: its channels of dout.
template <class T>
void split_channels(const T* dout, std::size_t total, std::size_t first, std::size_t channels, T* part,
                    std::size_t pixels) {
    for (std::size_t p = 0; p < pixels; ++p)
        std::copy_n(dout + p * total + first, channels, part + p * channels);
}

template <class T>
void add_into(T* dst, const T* src, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) dst[i] += src[i];
}

template <class T, class In, class... Branches>
struct concat_layer {
    static_assert(sizeof...(Branches) >= 2, "concat needs at least two branches");
    static_assert((check_layer<Branches, T>() && ...));
    using branches_type = layer_list<T, std::tuple<Branches...>>;
    using in_shape = In;
    using out_shape = typename joined_shape<typename Branches::out_shape...>::type;
    static constexpr std::size_t count = sizeof...(Branches);
    static constexpr std::array<std::size_t, count> channels{channels_of<typename Branches::out_shape>...};
    static constexpr std::array<std::size_t, count> first_channel = [] {
        std::array<std::size_t, count> first{};
        for (std::size_t b = 1; b < count; ++b) first[b] = first[b - 1] + channels[b - 1];
        return first;
    }();
    static constexpr std::size_t pixels_per_sample = out_shape::size / channels_of<out_shape>;
    static constexpr std::size_t widest_branch = *std::max_element(channels.begin(), channels.end());

    static constexpr std::string_view name = "concat";
    static constexpr std::size_t param_count = branches_type::param_offsets[count];
    static constexpr std::size_t state_count = branches_type::state_offsets[count];
    static constexpr std::size_t trainable_count = branches_type::trainable_count;
    static constexpr std::size_t non_trainable_count = branches_type::non_trainable_count;
    static constexpr std::size_t sync_width = branches_type::sync_width;

    branches_type branches;

    // Per branch: its workspace and its output; then one branch's share of
    // dout and the input gradient of a branch after the first.
    struct layout {
        std::array<std::size_t, count> workspace{}, output{};
        std::size_t dout_part = 0, din_part = 0, total = 0;
        explicit layout(std::size_t n) {
            const std::array<std::size_t, count> sizes{Branches::workspace_size(n)...};
            line_carver<T> carve;
            for (std::size_t b = 0; b < count; ++b) {
                workspace[b] = carve.take(sizes[b]);
                output[b] = carve.take(n * pixels_per_sample * channels[b]);
            }
            dout_part = carve.take(n * pixels_per_sample * widest_branch);
            din_part = carve.take(n * In::size);
            total = carve.at;
        }
    };
    static std::size_t workspace_size(std::size_t n) { return layout(n).total; }

    void bind_parameters(T* params) { branches.bind_parameters(params); }
    void bind_state(T* state) { branches.bind_state(state); }
    void initialize(rng& r) { branches.initialize(r.next()); }

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>& c) const {
        const layout w(n);
        std::array<const T*, count> parts{};
        branches.for_each([&](const auto& branch, std::size_t b) {
            T* y = c.workspace + w.output[b];
            branch.forward(in, y, n, child_context(c, b, c.workspace + w.workspace[b]));
            parts[b] = y;
        });
        join_channels(parts, channels, out, n * pixels_per_sample);
    }

    void backward(const T* in, const T*, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>& c) const {
        const layout w(n);
        const std::size_t pixels = n * pixels_per_sample;
        T* part = c.workspace + w.dout_part;
        branches.for_each([&](const auto& branch, std::size_t b) {
            split_channels(dout, channels_of<out_shape>, first_channel[b], channels[b], part, pixels);
            T* branch_din = din == nullptr ? nullptr : b == 0 ? din : c.workspace + w.din_part;
            branch.backward(in, c.workspace + w.output[b], part, branch_din,
                            dparams + branches_type::param_offsets[b], n,
                            child_context(c, b, c.workspace + w.workspace[b]));
            if (branch_din && b > 0) add_into(din, branch_din, n * In::size);
        });
    }

    template <class Self, class F>
    static void visit_children(Self& self, F&& f) {
        branches_type::visit_children(self.branches, f);
    }
};

template <class T, class In, class... Specs>
struct skip_concat_layer {
    using block_type = bound_list<T, In, Specs...>;
    using block_out = typename bind_layers<T, In, Specs...>::out_shape;
    using in_shape = In;
    using out_shape = typename joined_shape<In, block_out>::type;
    static constexpr std::size_t pixels_per_sample = In::size / channels_of<In>;
    static constexpr std::size_t in_channels = channels_of<In>, block_channels = channels_of<block_out>;

    static constexpr std::string_view name = "skip_concat";
    static constexpr std::size_t param_count = block_type::param_offsets[block_type::count];
    static constexpr std::size_t state_count = block_type::state_offsets[block_type::count];
    static constexpr std::size_t trainable_count = block_type::trainable_count;
    static constexpr std::size_t non_trainable_count = block_type::non_trainable_count;
    static constexpr std::size_t sync_width = block_type::sync_width;

    block_type block;

    struct layout {
        std::size_t workspace, output, dout_part, din_part, total;
        explicit layout(std::size_t n) {
            line_carver<T> carve;
            workspace = carve.take(block_type::workspace_size(n));
            output = carve.take(n * block_out::size);
            dout_part = carve.take(n * block_out::size);
            din_part = carve.take(n * In::size);
            total = carve.at;
        }
    };
    static std::size_t workspace_size(std::size_t n) { return layout(n).total; }

    void bind_parameters(T* params) { block.bind_parameters(params); }
    void bind_state(T* state) { block.bind_state(state); }
    void initialize(rng& r) { block.initialize(r.next()); }

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>& c) const {
        const layout w(n);
        T* y = c.workspace + w.output;
        block.forward(in, y, n, with_workspace(c, c.workspace + w.workspace));
        join_channels<T, 2>({in, y}, {in_channels, block_channels}, out, n * pixels_per_sample);
    }

    void backward(const T* in, const T*, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>& c) const {
        const layout w(n);
        const std::size_t pixels = n * pixels_per_sample;
        T* part = c.workspace + w.dout_part;
        split_channels(dout, channels_of<out_shape>, in_channels, block_channels, part, pixels);
        T* block_din = din ? c.workspace + w.din_part : nullptr;
        block.backward(in, c.workspace + w.output, part, block_din, dparams, n,
                       with_workspace(c, c.workspace + w.workspace));
        if (!din) return;
        split_channels(dout, channels_of<out_shape>, 0, in_channels, din, pixels);
        add_into(din, block_din, n * In::size);
    }

    template <class Self, class F>
    static void visit_children(Self& self, F&& f) {
        block_type::visit_children(self.block, f);
    }
};

}  // namespace detail

template <class... Branches>
struct concat {
    static_assert(sizeof...(Branches) >= 2, "concat needs at least two branches");
    template <class T, class In>
    static constexpr bool accepts() {
        if constexpr ((detail::spec_accepts<Branches, T, In>() && ...)) {
            if constexpr ((layer<typename Branches::template bind<T, In>, T> && ...)) {
                return detail::check_joinable<typename Branches::template bind<T, In>::out_shape...>();
            } else {
                static_assert((detail::check_layer<typename Branches::template bind<T, In>, T>() && ...));
                return false;
            }
        } else {
            return false;  // a branch said what is wrong
        }
    }
    template <class T, class In>
    using bind = detail::concat_layer<T, In, typename Branches::template bind<T, In>...>;
};

template <class... Specs>
struct skip_concat {
    template <class T, class In>
    static constexpr bool accepts() {
        using block = detail::bind_layers<T, In, Specs...>;
        if constexpr (block::complete)
            return detail::check_joinable<In, typename block::out_shape>();
        else
            return false;
    }
    template <class T, class In>
    using bind = detail::skip_concat_layer<T, In, Specs...>;
};

}  // namespace strata
