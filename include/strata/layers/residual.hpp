// residual<Specs...>: y = x + f(x) with f the chain of Specs (He et al.'s
// residual block). When f changes the shape, a shortcut<Specs...> among the
// specs maps x to f's shape instead of the identity, e.g.
//   residual<conv2d<32, 3, same, stride<2>>, batch_norm, relu, conv2d<32, 3, same>, batch_norm,
//            shortcut<conv2d<32, 1, stride<2>>, batch_norm>>
// The activation after the sum is the next layer of the network.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "../core/simd.hpp"
#include "activation.hpp"
#include "chain.hpp"
#include "layer.hpp"

namespace strata {

template <class... Specs>
struct shortcut {
    template <class T, class In>
    static constexpr bool accepts() {
        return detail::bind_layers<T, In, Specs...>::complete;
    }
    template <class T, class In>
    using bind = chain_layer<T, In, "shortcut", Specs...>;
};

namespace detail {
template <class S>
inline constexpr bool is_shortcut_v = false;
template <class... S>
inline constexpr bool is_shortcut_v<shortcut<S...>> = true;

// Splits a residual's specs into the block's (in order) and its shortcut.
template <class Block, class Shortcut, class... Specs>
struct split_shortcut {
    using block = Block;
    using shortcut_spec = Shortcut;
};
template <class... Block, class Shortcut, class First, class... Rest>
struct split_shortcut<std::tuple<Block...>, Shortcut, First, Rest...> {
    static constexpr bool found = is_shortcut_v<First>;
    static_assert(!(found && !std::is_void_v<Shortcut>), "residual takes at most one shortcut<...>");
    using next = std::conditional_t<found, split_shortcut<std::tuple<Block...>, First, Rest...>,
                                    split_shortcut<std::tuple<Block..., First>, Shortcut, Rest...>>;
    using block = typename next::block;
    using shortcut_spec = typename next::shortcut_spec;
};

struct no_shortcut {
    using out_shape = void;
    static constexpr std::size_t param_count = 0;
};
template <class Shortcut, class T, class In>
struct bind_shortcut {
    using type = typename Shortcut::template bind<T, In>;
};
template <class T, class In>
struct bind_shortcut<void, T, In> {
    using type = no_shortcut;
};

// The residual spec's checks before it binds: block and shortcut bind, and
// their shapes can be added.
template <class T, class In, class Shortcut, class BlockSpecs>
struct residual_check;
template <class T, class In, class Shortcut, class... BlockSpecs>
struct residual_check<T, In, Shortcut, std::tuple<BlockSpecs...>> {
    static constexpr bool accepts() {
        using block = bind_layers<T, In, BlockSpecs...>;
        if constexpr (!block::complete) {
            return false;  // a layer of the block said what is wrong
        } else if constexpr (std::is_void_v<Shortcut>) {
            constexpr bool same_shape = std::is_same_v<typename block::out_shape, In>;
            static_assert(same_shape,
                          "residual: the block changes the shape, so y = x + f(x) cannot add them; add a "
                          "shortcut<...> that maps the input to the block's output shape, e.g. "
                          "shortcut<conv2d<filters, 1, stride<2>>, batch_norm>");
            return same_shape;
        } else if constexpr (!spec_accepts<Shortcut, T, In>()) {
            return false;
        } else {
            constexpr bool same_shape =
                std::is_same_v<typename Shortcut::template bind<T, In>::out_shape, typename block::out_shape>;
            static_assert(same_shape, "residual: the shortcut's output shape differs from the block's");
            return same_shape;
        }
    }
};

template <class T, class In, class Shortcut, class BlockSpecs>
struct residual_layer;

template <class T, class In, class Shortcut, class... BlockSpecs>
struct residual_layer<T, In, Shortcut, std::tuple<BlockSpecs...>> {
    static_assert(sizeof...(BlockSpecs) >= 1, "residual needs at least one layer besides its shortcut");
    using block_type = bound_list<T, In, BlockSpecs...>;
    using in_shape = In;
    using out_shape = typename bind_layers<T, In, BlockSpecs...>::out_shape;
    static constexpr bool projects = !std::is_void_v<Shortcut>;
    using shortcut_type = typename bind_shortcut<Shortcut, T, In>::type;
    static_assert(projects || std::is_same_v<out_shape, In>,
                  "residual: the block changes the shape, so y = x + f(x) cannot add them; add a "
                  "shortcut<...> that maps the input to the block's output shape, e.g. "
                  "shortcut<conv2d<filters, 1, stride<2>>, batch_norm>");
    static_assert(!projects || std::is_same_v<typename shortcut_type::out_shape, out_shape>,
                  "residual: the shortcut's output shape differs from the block's");

    static constexpr std::string_view name = "residual";
    static constexpr std::size_t block_params = block_type::param_offsets[block_type::count];
    static constexpr std::size_t block_state = block_type::state_offsets[block_type::count];
    static constexpr std::size_t param_count = block_params + round_up_to_line<T>(shortcut_type::param_count);
    static constexpr std::size_t state_count =
        block_state + round_up_to_line<T>(state_count_of<shortcut_type>);
    static constexpr std::size_t trainable_count =
        block_type::trainable_count + trainable_count_of<shortcut_type>;
    static constexpr std::size_t non_trainable_count =
        block_type::non_trainable_count + non_trainable_count_of<shortcut_type>;
    static constexpr std::size_t sync_width = std::max(block_type::sync_width, sync_width_of<shortcut_type>);

    block_type block;
    [[no_unique_address]] shortcut_type shortcut_path;

    // The block's and the shortcut's workspaces, their outputs (kept for
    // backward), a copy of dout for the shortcut and the block's input gradient.
    struct layout {
        std::size_t block, block_out, shortcut, shortcut_out, dout_copy, block_din, total;
        explicit layout(std::size_t n) {
            line_carver<T> carve;
            block = carve.take(block_type::workspace_size(n));
            block_out = carve.take(n * out_shape::size);
            if constexpr (projects) {
                shortcut = carve.take(shortcut_type::workspace_size(n));
                shortcut_out = carve.take(n * out_shape::size);
                dout_copy = carve.take(n * out_shape::size);
            } else {
                shortcut = shortcut_out = dout_copy = carve.at;
            }
            block_din = carve.take(n * In::size);
            total = carve.at;
        }
    };
    static std::size_t workspace_size(std::size_t n) { return layout(n).total; }

    void bind_parameters(T* params) {
        block.bind_parameters(params);
        if constexpr (projects) shortcut_path.bind_parameters(params + block_params);
    }
    void bind_state(T* state) {
        block.bind_state(state);
        if constexpr (projects) shortcut_path.bind_state(state + block_state);
    }
    void initialize(rng& r) {
        const std::uint64_t key = r.next();
        block.initialize(key);
        if constexpr (projects) {
            rng shortcut_rng(mix_keys(key, block_type::count));
            shortcut_path.initialize(shortcut_rng);
        }
    }

    void forward(const T* in, T* out, std::size_t n, const pass_context<T>& c) const {
        forward_activated<identity>(in, out, n, c);
    }
    void backward(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>& c) const {
        backward_activated<identity>(in, out, dout, din, dparams, n, c);
    }

    // With the activation that follows (ResNet's relu after the sum) applied
    // in the sum's pass: out = Activation(x + f(x)); backward takes that out.
    // Where the block's last layer can (batch_norm: ResNet's blocks), the sum
    // and the activation go into its store, and f(x) is never written; its
    // backward then reads no output of its own.
    template <class Activation>
    void forward_activated(const T* in, T* out, std::size_t n, const pass_context<T>& c) const {
        const layout w(n);
        T* ws = c.workspace;
        if constexpr (block_type::template last_adds<Activation>()) {
            const T* x = in;
            if constexpr (projects) {
                T* s = ws + w.shortcut_out;
                shortcut_path.forward(in, s, n, child_context(c, block_type::count, ws + w.shortcut));
                x = s;
            }
            block.template forward_adding<Activation>(in, x, out, n, with_workspace(c, ws + w.block));
            return;
        }
        T* f = ws + w.block_out;
        block.forward(in, f, n, with_workspace(c, ws + w.block));
        const T* x = in;
        if constexpr (projects) {
            T* s = ws + w.shortcut_out;
            shortcut_path.forward(in, s, n, child_context(c, block_type::count, ws + w.shortcut));
            x = s;
        }
        simd::transform(x, f, out, n * out_shape::size,
                        [](auto a, auto b) { return Activation::value(a + b); });
    }

    template <class Activation>
    void backward_activated(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                            const pass_context<T>& c) const {
        const layout w(n);
        T* ws = c.workspace;
        const std::size_t size = n * out_shape::size;
        // Both paths receive dout (through the activation), and the block may overwrite it.
        T* shortcut_dout = projects ? ws + w.dout_copy : din;
        if constexpr (std::is_same_v<Activation, identity>) {
            if (shortcut_dout) std::copy_n(dout, size, shortcut_dout);
        } else {
            // One pass writes both copies.
            auto through = [&](std::size_t i, auto y) {
                const auto d = simd::load_as<decltype(y)>(dout + i) * Activation::derivative_from_output(y);
                simd::store_as(dout + i, d);
                if (shortcut_dout) simd::store_as(shortcut_dout + i, d);
            };
            constexpr std::size_t width = simd::width<T>;
            std::size_t i = 0;
            for (; i + width <= size; i += width) through(i, simd::load(out + i));
            for (; i < size; ++i) through(i, out[i]);
        }
        T* block_din = din ? ws + w.block_din : nullptr;
        block.backward(in, ws + w.block_out, dout, block_din, dparams, n, with_workspace(c, ws + w.block));
        if constexpr (projects) {
            shortcut_path.backward(in, ws + w.shortcut_out, ws + w.dout_copy, din, dparams + block_params, n,
                                   child_context(c, block_type::count, ws + w.shortcut));
        }
        if (din)
            for (std::size_t i = 0; i < n * In::size; ++i) din[i] += block_din[i];
    }

    template <class Self, class F>
    static void visit_children(Self& self, F&& f) {
        block_type::visit_children(self.block, f);
        if constexpr (projects) f(block_type::count, shortcut_type::name, self.shortcut_path);
    }
};

}  // namespace detail

template <class... Specs>
struct residual {
    template <class T, class In>
    static constexpr bool accepts() {
        using split = detail::split_shortcut<std::tuple<>, void, Specs...>;
        return detail::residual_check<T, In, typename split::shortcut_spec, typename split::block>::accepts();
    }
    template <class T, class In>
    using bind =
        detail::residual_layer<T, In,
                               typename detail::split_shortcut<std::tuple<>, void, Specs...>::shortcut_spec,
                               typename detail::split_shortcut<std::tuple<>, void, Specs...>::block>;
};

}  // namespace strata
