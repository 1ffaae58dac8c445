// chain<Specs...>: layers applied one after another, itself a layer, so a
// block of layers can sit inside residual<...>, concat<...> or another chain.
// detail::layer_list is the part sequential shares: binding specs to shapes,
// parameter and state offsets, seeding and the pass through the children.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "../core/aligned_buffer.hpp"
#include "../core/random.hpp"
#include "activation.hpp"
#include "layer.hpp"
#include "max_pool.hpp"

namespace strata {

namespace detail {

// A spec may check the shape that reaches it before it binds
// (template <class T, class In> static constexpr bool accepts(), whose
// static_asserts say what is wrong); one that refuses binds nothing, so its
// message is the only one.
template <class Spec, class T, class In>
constexpr bool spec_accepts() {
    if constexpr (requires { Spec::template accepts<T, In>(); })
        return Spec::template accepts<T, In>();
    else
        return true;
}

// Binds each spec to the shape the previous layer produces, appending to
// Bound: one instantiation per layer (no tuple_cat). The chain ends at a spec
// that refuses its input or binds to a type that is not a layer, after that
// one message: the layers before it still form a network, so nothing else
// fails; `complete` tells composites whether every spec bound.
template <class T, class In, class Bound, class... Specs>
struct bind_chain;
template <class T, class In, class... Bound>
struct bind_chain<T, In, std::tuple<Bound...>> {
    using type = std::tuple<Bound...>;
    using out_shape = In;
    static constexpr bool complete = true;
};
template <class T, class In, class Bound>
struct end_chain {
    using type = typename bind_chain<T, In, Bound>::type;
    using out_shape = In;
    static constexpr bool complete = false;
};
template <bool IsLayer, class T, class In, class Layer, class Bound, class... Rest>
struct continue_chain {
    using type = end_chain<T, In, Bound>;
};
template <class T, class In, class Layer, class... Bound, class... Rest>
struct continue_chain<true, T, In, Layer, std::tuple<Bound...>, Rest...> {
    using type = bind_chain<T, typename Layer::out_shape, std::tuple<Bound..., Layer>, Rest...>;
};
template <bool Accepted, class T, class In, class Spec, class Bound, class... Rest>
struct bind_spec {
    using type = end_chain<T, In, Bound>;
};
template <class T, class In, class Spec, class... Bound, class... Rest>
struct bind_spec<true, T, In, Spec, std::tuple<Bound...>, Rest...> {
    using bound = typename Spec::template bind<T, In>;
    static_assert(check_layer<bound, T>());
    using type = typename continue_chain<layer<bound, T>, T, In, bound, std::tuple<Bound...>, Rest...>::type;
};
template <class T, class In, class... Bound, class Spec, class... Rest>
struct bind_chain<T, In, std::tuple<Bound...>, Spec, Rest...> {
    using next =
        typename bind_spec<spec_accepts<Spec, T, In>(), T, In, Spec, std::tuple<Bound...>, Rest...>::type;
    using type = typename next::type;
    using out_shape = typename next::out_shape;
    static constexpr bool complete = next::complete;
};
template <class T, class In, class... Specs>
using bind_layers = bind_chain<T, In, std::tuple<>, Specs...>;

// Each size rounded up to a cache line, so every slice starts aligned.
template <class T, std::size_t N>
constexpr std::array<std::size_t, N + 1> line_offsets(const std::array<std::size_t, N>& sizes) {
    std::array<std::size_t, N + 1> offsets{};
    for (std::size_t i = 0; i < N; ++i) offsets[i + 1] = offsets[i] + round_up_to_line<T>(sizes[i]);
    return offsets;
}

// Hands out consecutive workspace slices, each starting on a cache line.
template <class T>
struct line_carver {
    std::size_t at = 0;
    std::size_t take(std::size_t size) {
        const std::size_t start = at;
        at += round_up_to_line<T>(size);
        return start;
    }
};

// A child's view of its parent's pass: its own workspace and its own key, so
// a dropout inside a composite draws masks no other layer draws.
template <class T>
pass_context<T> child_context(const pass_context<T>& parent, std::size_t child, T* workspace) {
    pass_context<T> c = parent;
    c.layer_index = static_cast<std::size_t>(mix_keys(parent.layer_index, child));
    c.workspace = workspace;
    return c;
}

// The same pass with its workspace moved, for a composite's single block.
template <class T>
pass_context<T> with_workspace(const pass_context<T>& parent, T* workspace) {
    pass_context<T> c = parent;
    c.workspace = workspace;
    return c;
}

template <class T, class Layers>
struct layer_list;

template <class T, class... L>
struct layer_list<T, std::tuple<L...>> {
    static constexpr std::size_t count = sizeof...(L);
    template <std::size_t I>
    using type = std::tuple_element_t<I, std::tuple<L...>>;

    static constexpr auto param_offsets = line_offsets<T, count>({L::param_count...});
    static constexpr auto state_offsets = line_offsets<T, count>({state_count_of<L>...});
    static constexpr std::size_t trainable_count = (std::size_t{0} + ... + trainable_count_of<L>);
    static constexpr std::size_t non_trainable_count = (std::size_t{0} + ... + non_trainable_count_of<L>);
    static constexpr std::size_t sync_width = std::max({std::size_t{0}, sync_width_of<L>...});
    static constexpr std::array<std::size_t, count> out_sizes{L::out_shape::size...};
    // Widest value per sample between two children (what backward passes down).
    static constexpr std::size_t inner_widest = [] {
        std::size_t w = 0;
        for (std::size_t i = 0; i + 1 < count; ++i) w = std::max(w, out_sizes[i]);
        return w;
    }();

    std::tuple<L...> layers;

    template <class F>
    void for_each(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (f(std::get<I>(layers), I), ...); }
        (std::index_sequence_for<L...>{});
    }
    template <class F>
    void for_each(F&& f) const {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (f(std::get<I>(layers), I), ...); }
        (std::index_sequence_for<L...>{});
    }

    void bind_parameters(T* params) {
        for_each([&](auto& layer, std::size_t i) { layer.bind_parameters(params + param_offsets[i]); });
    }
    void bind_state(T* state) {
        for_each([&](auto& layer, std::size_t i) {
            if constexpr (requires { layer.bind_state(state); }) layer.bind_state(state + state_offsets[i]);
        });
    }
    // Child i draws from key (key, i): a network's top-level list gets the
    // seed itself, so adding composites changed no existing network's weights.
    void initialize(std::uint64_t key) {
        for_each([&](auto& layer, std::size_t i) {
            rng r(mix_keys(key, i));
            layer.initialize(r);
        });
    }

    // The workspace of a pass over n samples when the list runs inside a
    // composite: every child's output but the last (kept for backward), every
    // child's own workspace, and two buffers backward hands gradients down in.
    struct workspace_layout {
        std::array<std::size_t, count> output{}, child{};
        std::size_t gradient[2]{};
        std::size_t total = 0;
    };
    static workspace_layout layout(std::size_t n) {
        workspace_layout w;
        line_carver<T> carve;
        for (std::size_t i = 0; i + 1 < count; ++i)
            w.output[i] = passes_input_on[i] ? w.output[i - 1] : carve.take(n * out_sizes[i]);
        const std::array<std::size_t, count> child_sizes{L::workspace_size(n)...};
        for (std::size_t i = 0; i < count; ++i) w.child[i] = carve.take(child_sizes[i]);
        for (auto& g : w.gradient) g = carve.take(n * inner_widest);
        w.total = carve.at;
        return w;
    }
    static std::size_t workspace_size(std::size_t n) { return layout(n).total; }

    // Child i only reshapes, so its input serves as its output; not the first
    // or last child, whose buffers the parent owns.
    static constexpr std::array<bool, count> passes_input_on = [] {
        std::array<bool, count> on{reshapes_only_v<L>...};
        on[0] = on[count - 1] = false;
        return on;
    }();

    // Whether Pair<child I, child I + 1> holds, and whether it holds for
    // child I and the one before it.
    template <template <class, class> class Pair, std::size_t I>
    static constexpr bool pairs_with_next() {
        if constexpr (I + 1 < count)
            return Pair<type<I>, type<I + 1>>::value;
        else
            return false;
    }
    template <template <class, class> class Pair, std::size_t I>
    static constexpr bool pairs_with_previous() {
        if constexpr (I == 0)
            return false;
        else
            return pairs_with_next<Pair, I - 1>();
    }

    // Child I runs the activation layer after it in its own passes (see
    // fuses_activation); the activation's output is then the pair's, and
    // child I's own output buffer goes unused.
    template <std::size_t I>
    static constexpr bool fuses_next() {
        return pairs_with_next<fuses_activation, I>();
    }
    template <std::size_t I>
    static constexpr bool fused_into_previous() {
        return pairs_with_previous<fuses_activation, I>();
    }
    // Child I + 1, a max_pool, does the start of child I's backward pass in
    // its own (see pools_gradient); the forward passes stay apart.
    template <std::size_t I>
    static constexpr bool pools_next() {
        return pairs_with_next<pools_gradient, I>() && !fuses_next<I>() && !fused_into_previous<I>();
    }
    template <std::size_t I>
    static constexpr bool pooled_into_previous() {
        return pairs_with_previous<pools_gradient, I>();
    }

    // Whether the last child can write Activation(its output + addend) in its
    // own store (forward_added), for forward_adding.
    template <class Activation>
    static constexpr bool last_adds() {
        return !fused_into_previous<count - 1>() &&
               requires(const type<count - 1>& last, const T* x, T* y, const pass_context<T>& c) {
            last.template forward_added<Activation>(x, x, y, std::size_t{}, c);
        };
    }

    // out receives the last child's output; c.workspace holds the layout above.
    void forward(const T* in, T* out, std::size_t n, const pass_context<T>& c) const {
        forward_adding<identity, false>(in, nullptr, out, n, c);
    }
    // With Adds (see last_adds), out = Activation(last child's output +
    // addend), and the last child's own output is never written.
    template <class Activation, bool Adds = true>
    void forward_adding(const T* in, const T* addend, T* out, std::size_t n, const pass_context<T>& c) const {
        static_assert(!Adds || last_adds<Activation>());
        const auto w = layout(n);
        const T* x = in;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (
                [&] {
                    if constexpr (!fused_into_previous<I>() && !passes_input_on[I]) {
                        constexpr std::size_t last = fuses_next<I>() ? I + 1 : I;
                        T* y = last + 1 == count ? out : c.workspace + w.output[last];
                        const auto context = child_context(c, I, c.workspace + w.child[I]);
                        if constexpr (Adds && I + 1 == count)
                            std::get<I>(layers).template forward_added<Activation>(x, addend, y, n, context);
                        else if constexpr (fuses_next<I>())
                            std::get<I>(layers).template forward_activated<typename type<I + 1>::activation>(
                                x, y, n, context);
                        else
                            std::get<I>(layers).forward(x, y, n, context);
                        x = y;
                    }
                }(),
                ...);
        }
        (std::index_sequence_for<L...>{});
    }
    void backward(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>& c) const {
        const auto w = layout(n);
        T* d = dout;
        [&]<std::size_t... R>(std::index_sequence<R...>) {
            (
                [&] {
                    constexpr std::size_t i = count - 1 - R;
                    if constexpr (!fused_into_previous<i>() && !passes_input_on[i] &&
                                  !pooled_into_previous<i>()) {
                        constexpr std::size_t last = fuses_next<i>() ? i + 1 : i;
                        const T* x = i == 0 ? in : c.workspace + w.output[i - 1];
                        const T* y = last + 1 == count ? out : c.workspace + w.output[last];
                        // The gradient buffer d is not in: a skipped layer breaks the alternation.
                        T* const spare = c.workspace + w.gradient[d == c.workspace + w.gradient[0] ? 1 : 0];
                        T* d_in = i == 0 ? din : spare;
                        const auto context = child_context(c, i, c.workspace + w.child[i]);
                        if constexpr (pools_next<i>()) {
                            // d, the pool's gradient, is spent once routed: the child's gradient
                            // goes there, unless d is the parent's, sized for the pool's output.
                            const T* pooled = i + 2 == count ? out : c.workspace + w.output[i + 1];
                            T* const other =
                                c.workspace + w.gradient[spare == c.workspace + w.gradient[0] ? 1 : 0];
                            if (i > 0) d_in = d == other ? d : other;
                            backward_pooled(std::get<i>(layers), std::get<i + 1>(layers), x, y, pooled, d,
                                            spare, d_in, dparams + param_offsets[i], n, context);
                        } else if constexpr (fuses_next<i>())
                            std::get<i>(layers).template backward_activated<typename type<i + 1>::activation>(
                                x, y, d, d_in, dparams + param_offsets[i], n, context);
                        else
                            std::get<i>(layers).backward(x, y, d, d_in, dparams + param_offsets[i], n,
                                                         context);
                        d = d_in;
                    }
                }(),
                ...);
        }
        (std::index_sequence_for<L...>{});
    }

    template <class Self, class F>
    static void visit_children(Self& self, F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (f(I, std::remove_cvref_t<decltype(std::get<I>(self.layers))>::name, std::get<I>(self.layers)),
             ...);
        }
        (std::index_sequence_for<L...>{});
    }
};

template <class T, class In, class... Specs>
using bound_list = layer_list<T, typename bind_layers<T, In, Specs...>::type>;

}  // namespace detail

// A composite's name, as summary() and weight files show it.
template <std::size_t N>
struct layer_name {
    char text[N]{};
    constexpr layer_name(const char (&s)[N]) { std::copy_n(s, N, text); }
    constexpr std::string_view view() const { return {text, N - 1}; }
};

// A list of children run one after another as one layer.
template <class T, class In, layer_name Name, class... Specs>
struct chain_layer {
    static_assert(sizeof...(Specs) >= 1, "a chain needs at least one layer");
    using list_type = detail::bound_list<T, In, Specs...>;
    using in_shape = In;
    using out_shape = typename detail::bind_layers<T, In, Specs...>::out_shape;
    static constexpr std::string_view name = Name.view();
    static constexpr std::size_t param_count = list_type::param_offsets[list_type::count];
    static constexpr std::size_t state_count = list_type::state_offsets[list_type::count];
    static constexpr std::size_t trainable_count = list_type::trainable_count;
    static constexpr std::size_t non_trainable_count = list_type::non_trainable_count;
    static constexpr std::size_t sync_width = list_type::sync_width;

    list_type list;

    static std::size_t workspace_size(std::size_t n) { return list_type::workspace_size(n); }
    void bind_parameters(T* params) { list.bind_parameters(params); }
    void bind_state(T* state) { list.bind_state(state); }
    void initialize(rng& r) { list.initialize(r.next()); }
    void forward(const T* in, T* out, std::size_t n, const pass_context<T>& c) const {
        list.forward(in, out, n, c);
    }
    void backward(const T* in, const T* out, T* dout, T* din, T* dparams, std::size_t n,
                  const pass_context<T>& c) const {
        list.backward(in, out, dout, din, dparams, n, c);
    }
    template <class Self, class F>
    static void visit_children(Self& self, F&& f) {
        list_type::visit_children(self.list, f);
    }
};

template <class... Specs>
struct chain {
    template <class T, class In>
    static constexpr bool accepts() {
        return detail::bind_layers<T, In, Specs...>::complete;  // an inner spec said what is wrong
    }
    template <class T, class In>
    using bind = chain_layer<T, In, "chain", Specs...>;
};

}  // namespace strata
