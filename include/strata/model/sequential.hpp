// sequential<input<H, W, C>, Layers...>: a network whose layer list and every
// shape are types. Layers are bound in order to the shape the previous one
// produces, so a wrong composition is a compile error, and all parameters
// live in one flat aligned buffer that optimizers update in a single loop.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/aligned_buffer.hpp"
#include "../core/batch_sync.hpp"
#include "../core/error.hpp"
#include "../core/random.hpp"
#include "../core/thread_pool.hpp"
#include "../layers/layer.hpp"

namespace strata {

namespace detail {

// Binds each spec to the shape the previous layer produces, appending to
// Bound: one instantiation per layer (no tuple_cat), and a layer whose own
// check failed still yields a type, so the compiler stops at that one message.
template <class T, class In, class Bound, class... Specs>
struct bind_chain;
template <class T, class In, class... Bound>
struct bind_chain<T, In, std::tuple<Bound...>> {
    using type = std::tuple<Bound...>;
    using out_shape = In;
};
// A bound type that is not a layer ends the chain there, after check_layer's
// one message: the layers before it still form a network, so nothing else fails.
template <bool IsLayer, class T, class In, class Layer, class Bound, class... Rest>
struct continue_chain {
    using type = bind_chain<T, In, Bound>;
};
template <class T, class In, class Layer, class... Bound, class... Rest>
struct continue_chain<true, T, In, Layer, std::tuple<Bound...>, Rest...> {
    using type = bind_chain<T, typename Layer::out_shape, std::tuple<Bound..., Layer>, Rest...>;
};
template <class T, class In, class... Bound, class Spec, class... Rest>
struct bind_chain<T, In, std::tuple<Bound...>, Spec, Rest...> {
    using bound = typename Spec::template bind<T, In>;
    static_assert(check_layer<bound, T>());
    using next = typename continue_chain<layer<bound, T>, T, In, bound, std::tuple<Bound...>, Rest...>::type;
    using type = typename next::type;
    using out_shape = typename next::out_shape;
};
template <class T, class In, class... Specs>
using bind_layers = bind_chain<T, In, std::tuple<>, Specs...>;

// Optional parts of the layer protocol, zero when a layer lacks them.
template <class L>
inline constexpr std::size_t state_count_of = 0;
template <class L>
requires requires { L::state_count; }
inline constexpr std::size_t state_count_of<L> = L::state_count;
template <class L>
inline constexpr std::size_t sync_width_of = 0;
template <class L>
requires requires { L::sync_width; }
inline constexpr std::size_t sync_width_of<L> = L::sync_width;

}  // namespace detail

// Which slice of a batch a pass runs, for layers that combine the slices' sums.
struct batch_slice {
    batch_sync* sync = nullptr;  // null: this slice is the whole batch
    std::size_t participant = 0;
    thread_pool* pool = nullptr;  // idle threads this slice's layers may share its work with
};

template <class T, class Input, class... Specs>
class basic_sequential {
    static_assert(is_input_v<Input>,
                  "the first entry of a sequential must be strata::input<height, width, channels> "
                  "(or strata::input<features> for flat data)");
    static_assert(sizeof...(Specs) >= 1, "a sequential needs at least one layer after its input");
    static_assert(std::is_floating_point_v<T>, "strata networks compute in float or double");

public:
    using scalar_type = T;
    using layers_tuple = typename detail::bind_layers<T, typename Input::shape_type, Specs...>::type;
    using in_shape = typename Input::shape_type;
    using out_shape = typename detail::bind_layers<T, in_shape, Specs...>::out_shape;
    static constexpr std::size_t layer_count = std::tuple_size_v<layers_tuple>;
    template <std::size_t I>
    using layer_type = std::tuple_element_t<I, layers_tuple>;

private:
    template <std::size_t... I>
    static constexpr auto param_offsets_impl(std::index_sequence<I...>) {
        // Each layer's slice starts on a cache line so kernels see aligned weights.
        std::array<std::size_t, layer_count + 1> offsets{};
        const std::array<std::size_t, layer_count> counts{layer_type<I>::param_count...};
        for (std::size_t i = 0; i < layer_count; ++i)
            offsets[i + 1] = offsets[i] + round_up_to_line<T>(counts[i]);
        return offsets;
    }
    template <std::size_t... I>
    static constexpr auto state_offsets_impl(std::index_sequence<I...>) {
        std::array<std::size_t, layer_count + 1> offsets{};
        const std::array<std::size_t, layer_count> counts{detail::state_count_of<layer_type<I>>...};
        for (std::size_t i = 0; i < layer_count; ++i)
            offsets[i + 1] = offsets[i] + round_up_to_line<T>(counts[i]);
        return offsets;
    }
    template <std::size_t... I>
    static constexpr auto out_sizes_impl(std::index_sequence<I...>) {
        return std::array<std::size_t, layer_count>{layer_type<I>::out_shape::size...};
    }

public:
    static constexpr auto param_offsets = param_offsets_impl(std::make_index_sequence<layer_count>{});
    static constexpr std::size_t param_count = [] {
        std::size_t total = 0;
        [&]<std::size_t... I>(std::index_sequence<I...>) { ((total += layer_type<I>::param_count), ...); }
        (std::make_index_sequence<layer_count>{});
        return total;
    }();
    static constexpr auto state_offsets = state_offsets_impl(std::make_index_sequence<layer_count>{});
    // Non-trainable scalars (batch_norm's moving statistics).
    static constexpr std::size_t state_count = [] {
        std::size_t total = 0;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((total += detail::state_count_of<layer_type<I>>), ...);
        }
        (std::make_index_sequence<layer_count>{});
        return total;
    }();
    // Most doubles any layer combines across the slices of a batch; 0 when no
    // layer needs whole-batch statistics, and then slices never synchronise.
    static constexpr std::size_t sync_width = [] {
        std::size_t w = 0;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((w = std::max(w, detail::sync_width_of<layer_type<I>>)), ...);
        }
        (std::make_index_sequence<layer_count>{});
        return w;
    }();
    static constexpr auto out_sizes = out_sizes_impl(std::make_index_sequence<layer_count>{});
    // Largest value (or gradient) per sample that crosses any layer boundary.
    static constexpr std::size_t widest = [] {
        std::size_t w = in_shape::size;
        for (auto s : out_sizes) w = s > w ? s : w;
        return w;
    }();

    explicit basic_sequential(seed s = {}) {
        params_.resize(param_offsets[layer_count]);
        state_.resize(state_offsets[layer_count]);
        bind_all();
        initialize(s);
    }
    basic_sequential(const basic_sequential& o) : params_(o.params_), state_(o.state_), layers_(o.layers_) {
        bind_all();
    }
    basic_sequential& operator=(const basic_sequential& o) {
        if (this != &o) {
            params_ = o.params_;
            state_ = o.state_;
            layers_ = o.layers_;
            bind_all();
        }
        return *this;
    }

    // Fresh weights; the same seed gives the same weights.
    void initialize(seed s) {
        params_.fill_zero();
        state_.fill_zero();
        for_each_layer([&](auto& layer, std::size_t i) {
            rng r(mix_keys(s.value, i));
            layer.initialize(r);
        });
    }

    template <std::size_t I>
    layer_type<I>& layer() noexcept {
        return std::get<I>(layers_);
    }
    template <std::size_t I>
    const layer_type<I>& layer() const noexcept {
        return std::get<I>(layers_);
    }

    // Every trainable scalar, layer after layer (with padding between layers
    // that stays zero and takes no gradient).
    std::span<T> parameters() noexcept { return params_.span(); }
    std::span<const T> parameters() const noexcept { return params_.span(); }
    template <std::size_t I>
    std::span<T> layer_parameters() noexcept {
        return {params_.data() + param_offsets[I], layer_type<I>::param_count};
    }
    // Every non-trainable scalar (moving statistics), which training updates
    // in the forward pass and save_weights stores with the parameters.
    std::span<T> state() noexcept { return state_.span(); }
    std::span<const T> state() const noexcept { return state_.span(); }

    // Applies f(layer, index) to each layer in order.
    template <class F>
    void for_each_layer(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (f(std::get<I>(layers_), I), ...); }
        (std::make_index_sequence<layer_count>{});
    }
    template <class F>
    void for_each_layer(F&& f) const {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (f(std::get<I>(layers_), I), ...); }
        (std::make_index_sequence<layer_count>{});
    }

    // One thread's buffers for a slice of the batch: every layer's output
    // (kept for backward), two ping-pong gradient buffers, the layers'
    // workspaces and this thread's parameter gradients. Sized once per
    // largest slice, so steady-state steps allocate nothing.
    struct replica {
        aligned_buffer<T> activations, grad_a, grad_b, workspace, gradients;
        std::array<std::size_t, layer_count + 1> activation_offsets{}, workspace_offsets{};
        std::size_t capacity = 0;

        void reserve(std::size_t n) {
            if (n <= capacity) return;
            activation_offsets[0] = 0;
            for (std::size_t i = 0; i < layer_count; ++i)
                activation_offsets[i + 1] = activation_offsets[i] + round_up_to_line<T>(n * out_sizes[i]);
            workspace_offsets[0] = 0;
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                ((workspace_offsets[I + 1] =
                      workspace_offsets[I] + round_up_to_line<T>(layer_type<I>::workspace_size(n))),
                 ...);
            }
            (std::make_index_sequence<layer_count>{});
            activations.resize(activation_offsets[layer_count]);
            workspace.resize(workspace_offsets[layer_count]);
            grad_a.resize(n * widest);
            grad_b.resize(n * widest);
            gradients.resize(param_offsets[layer_count]);
            capacity = n;
        }
        T* output(std::size_t layer) noexcept { return activations.data() + activation_offsets[layer]; }
    };

    // Runs n samples through every layer; returns the last layer's output
    // (n x out_shape::size) inside the replica.
    // A slice of a larger batch passes its batch_slice so batch statistics
    // cover the whole batch.
    const T* forward(replica& r, const T* in, std::size_t n, bool training, std::uint64_t step_seed,
                     std::size_t first_sample, batch_slice slice = {}) const {
        r.reserve(n);
        const T* x = in;
        for_each_layer([&](const auto& layer, std::size_t i) {
            T* out = r.output(i);
            layer.forward(x, out, n, context(r, i, training, step_seed, first_sample, slice));
            x = out;
        });
        return x;
    }

    // Back-propagates dloss/doutput, which the caller wrote into r.grad_a,
    // through the layers of the last forward(r, in, n, training=true, ...),
    // adding parameter gradients into r.gradients.
    // With input_gradient (n x in_shape::size) it also receives dloss/dinput,
    // which training never needs and so skips.
    void backward(replica& r, const T* in, std::size_t n, std::uint64_t step_seed, std::size_t first_sample,
                  T* input_gradient = nullptr, batch_slice slice = {}) const {
        T* dout = r.grad_a.data();
        T* din = r.grad_b.data();
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (backward_layer<layer_count - 1 - I>(r, in, dout, din, input_gradient, n, step_seed, first_sample,
                                                 slice),
             ...);
        }
        (std::make_index_sequence<layer_count>{});
    }

private:
    template <std::size_t I>
    void backward_layer(replica& r, const T* in, T*& dout, T*& din, T* input_gradient, std::size_t n,
                        std::uint64_t step_seed, std::size_t first_sample, batch_slice slice) const {
        const T* layer_in = I == 0 ? in : r.output(I - 1);
        std::get<I>(layers_).backward(layer_in, r.output(I), dout, I == 0 ? input_gradient : din,
                                      r.gradients.data() + param_offsets[I], n,
                                      context(r, I, true, step_seed, first_sample, slice));
        // The next layer down reads what this one wrote and may overwrite the spent buffer.
        std::swap(dout, din);
    }

    static pass_context<T> context(replica& r, std::size_t layer, bool training, std::uint64_t step_seed,
                                   std::size_t first_sample, batch_slice slice) {
        return {training,
                step_seed,
                first_sample,
                layer,
                r.workspace.data() + r.workspace_offsets[layer],
                slice.sync,
                slice.participant,
                slice.pool};
    }

    void bind_all() {
        for_each_layer([&](auto& layer, std::size_t i) {
            layer.bind_parameters(params_.data() + param_offsets[i]);
            if constexpr (requires { layer.bind_state(state_.data()); })
                layer.bind_state(state_.data() + state_offsets[i]);
        });
    }

    aligned_buffer<T> params_;
    aligned_buffer<T> state_;
    layers_tuple layers_;
};

// The float network users write: sequential<input<28, 28, 1>, conv2d<...>, ...>.
template <class Input, class... Specs>
using sequential = basic_sequential<float, Input, Specs...>;

}  // namespace strata
