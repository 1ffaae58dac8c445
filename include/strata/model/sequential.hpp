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
#include "../layers/chain.hpp"
#include "../layers/layer.hpp"

namespace strata {

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

    // Without an input there is nothing to bind: the message above stays the only one.
    using binding =
        std::conditional_t<is_input_v<Input>, detail::bind_layers<T, input_shape_t<Input>, Specs...>,
                           detail::bind_chain<T, input_shape_t<Input>, std::tuple<>>>;

public:
    using scalar_type = T;
    using layers_tuple = typename binding::type;
    using list_type = detail::layer_list<T, layers_tuple>;
    using in_shape = input_shape_t<Input>;
    using out_shape = typename binding::out_shape;
    static constexpr std::size_t layer_count = list_type::count;
    template <std::size_t I>
    using layer_type = std::tuple_element_t<I, layers_tuple>;

    // Each layer's slice starts on a cache line so kernels see aligned weights.
    static constexpr auto param_offsets = list_type::param_offsets;
    static constexpr std::size_t param_count = list_type::trainable_count;
    static constexpr auto state_offsets = list_type::state_offsets;
    // Non-trainable scalars (batch_norm's moving statistics).
    static constexpr std::size_t state_count = list_type::non_trainable_count;
    // Most doubles any layer combines across the slices of a batch; 0 when no
    // layer needs whole-batch statistics, and then slices never synchronise.
    static constexpr std::size_t sync_width = list_type::sync_width;
    static constexpr auto out_sizes = list_type::out_sizes;
    // Layer i only reshapes (flatten): its output is layer i - 1's, read in
    // place. The first layer still copies, since the input is the caller's.
    static constexpr std::array<bool, layer_count> aliases_previous = [] {
        std::array<bool, layer_count> on{};
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((on[I] = I > 0 && detail::reshapes_only_v<layer_type<I>>), ...);
        }
        (std::make_index_sequence<layer_count>{});
        return on;
    }();
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
        layers_.initialize(s.value);
    }

    template <std::size_t I>
    layer_type<I>& layer() noexcept {
        return std::get<I>(layers_.layers);
    }
    template <std::size_t I>
    const layer_type<I>& layer() const noexcept {
        return std::get<I>(layers_.layers);
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
        layers_.for_each(f);
    }
    template <class F>
    void for_each_layer(F&& f) const {
        layers_.for_each(f);
    }
    template <class Self, class F>
    static void visit_children(Self& self, F&& f) {
        list_type::visit_children(self.layers_, f);
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
                activation_offsets[i + 1] =
                    activation_offsets[i] + (aliases_previous[i] ? 0 : round_up_to_line<T>(n * out_sizes[i]));
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
        // An aliasing layer's output is the nearest earlier non-aliasing one's.
        T* output(std::size_t layer) noexcept {
            while (aliases_previous[layer]) --layer;
            return activations.data() + activation_offsets[layer];
        }
    };

    // Runs n samples through every layer; returns the last layer's output
    // (n x out_shape::size) inside the replica.
    // A slice of a larger batch passes its batch_slice so batch statistics
    // cover the whole batch.
    const T* forward(replica& r, const T* in, std::size_t n, bool training, std::uint64_t step_seed,
                     std::size_t first_sample, batch_slice slice = {}) const {
        r.reserve(n);
        const T* x = in;
        // Training fuses a batch_norm with the activation after it, as layer
        // lists do (list_type::fuses_next). Inference does not, so that every
        // layer's output is there to read (feature maps).
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (
                [&] {
                    if constexpr (aliases_previous[I]) return;  // x, the previous output, is this one's too
                    const auto layer_context = context(r, I, training, step_seed, first_sample, slice);
                    if constexpr (list_type::template fused_into_previous<I>()) {
                        if (training) return;
                    } else if constexpr (list_type::template fuses_next<I>()) {
                        if (training) {
                            std::get<I>(layers_.layers)
                                .template forward_activated<typename layer_type<I + 1>::activation>(
                                    x, r.output(I + 1), n, layer_context);
                            x = r.output(I + 1);
                            return;
                        }
                    }
                    std::get<I>(layers_.layers).forward(x, r.output(I), n, layer_context);
                    x = r.output(I);
                }(),
                ...);
        }
        (std::make_index_sequence<layer_count>{});
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
        if constexpr (list_type::template fused_into_previous<I>()) return;  // in layer I - 1's backward
        if constexpr (aliases_previous[I]) return;  // the gradient passes down unchanged
        if constexpr (list_type::template pooled_into_previous<I>()) return;  // in layer I - 1's backward
        const T* layer_in = I == 0 ? in : r.output(I - 1);
        const auto layer_context = context(r, I, true, step_seed, first_sample, slice);
        if constexpr (list_type::template pools_next<I>()) {
            // dout, the pool's gradient, is spent once routed: this layer's goes there, so no swap.
            detail::backward_pooled(std::get<I>(layers_.layers), std::get<I + 1>(layers_.layers), layer_in,
                                    r.output(I), r.output(I + 1), dout, din, I == 0 ? input_gradient : dout,
                                    r.gradients.data() + param_offsets[I], n, layer_context);
            return;
        }
        if constexpr (list_type::template fuses_next<I>())
            std::get<I>(layers_.layers)
                .template backward_activated<typename layer_type<I + 1>::activation>(
                    layer_in, r.output(I + 1), dout, I == 0 ? input_gradient : din,
                    r.gradients.data() + param_offsets[I], n, layer_context);
        else
            std::get<I>(layers_.layers)
                .backward(layer_in, r.output(I), dout, I == 0 ? input_gradient : din,
                          r.gradients.data() + param_offsets[I], n, layer_context);
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
        layers_.bind_parameters(params_.data());
        layers_.bind_state(state_.data());
    }

    aligned_buffer<T> params_;
    aligned_buffer<T> state_;
    list_type layers_;
};

// The float network users write: sequential<input<28, 28, 1>, conv2d<...>, ...>.
template <class Input, class... Specs>
using sequential = basic_sequential<float, Input, Specs...>;

}  // namespace strata
