// The layer protocol, stated once. A layer *spec* is what users write inside
// sequential<...> (conv2d<32, 3, relu>); the network binds each spec to the
// scalar type and the shape that reaches it:
//
//   template <class T, class InShape> using bind = <bound layer type>;
//
// A bound layer provides
//   using in_shape, out_shape;                   // compile-time shapes
//   static constexpr std::string_view name;      // as shown by summary()
//   static constexpr std::size_t param_count;    // trainable scalars
//   static constexpr std::size_t state_count;    // optional: non-trainable scalars
//                                                // (moving statistics), with
//   void bind_state(T* state);                   // its slice of the state buffer
//   static constexpr std::size_t sync_width;     // optional: doubles it all_reduces
//   static std::size_t workspace_size(std::size_t n);  // scratch T per call of n samples
//   void bind_parameters(T* params);             // its slice of the network's flat buffer
//   void initialize(rng&);                       // fresh weights from a seed
//   template <class Self, class F>               // required when param_count or
//   static void visit_tensors(Self& self, F&& f);  // state_count > 0: f(tensor_ref{...})
//                                                // for each tensor, the one way save/load,
//                                                // penalties and other walkers see them;
//   static void visit_children(Self& self, F&& f); // or, for a composite (chain, residual,
//                                                // concat): f(index, name, child layer)
//   static constexpr std::size_t trainable_count, non_trainable_count;  // composites:
//                                                // real counts, without the padding
//                                                // between children's slices
//   void forward(const T* in, T* out, std::size_t n, const pass_context<T>&);
//   void backward(const T* in, const T* out, T* dout, T* din, T* dparams,
//                 std::size_t n, const pass_context<T>&);
// where in/out hold n samples back to back (NHWC), backward may overwrite
// dout, writes din (skipped when din is null: the first layer) and *adds*
// parameter gradients into dparams. The workspace given to forward is handed
// unchanged to the matching backward, so a layer can keep im2col columns or a
// dropout mask there. Layers hold no per-call state, so each thread can run
// its own slice of the batch through the same layer object.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "../core/batch_sync.hpp"
#include "../core/random.hpp"
#include "../core/shape.hpp"
#include "../core/thread_pool.hpp"

namespace strata {

template <class T>
struct pass_context {
    bool training = false;
    std::uint64_t step_seed = 0;   // changes every step; mixed with the sample index
    std::size_t first_sample = 0;  // index of this slice's first sample in the batch
    std::size_t layer_index = 0;
    T* workspace = nullptr;
    // The other slices of this batch, for layers that need whole-batch sums
    // (null when this slice is the whole batch).
    batch_sync* sync = nullptr;
    std::size_t participant = 0;
    // Idle threads a layer may split one small slice's work across (set
    // only when this slice is the whole batch, e.g. a single image).
    thread_pool* pool = nullptr;

    // values: this slice's sums on entry, the whole batch's on return.
    void all_reduce(std::span<double> values) const {
        if (sync) sync->all_reduce(participant, values);
    }
};

// What every layer without trainable parameters has in common; such a layer
// derives from it and states only its shapes, name and passes.
struct parameter_free_layer {
    static constexpr std::size_t param_count = 0;
    static std::size_t workspace_size(std::size_t) { return 0; }
    template <class T>
    void bind_parameters(T*) {}
    void initialize(rng&) {}
};

namespace detail {
template <class L>
concept layer_has_shapes = requires {
    typename L::in_shape;
    typename L::out_shape;
};
template <class L>
concept layer_has_name = requires {
    { L::name } -> std::convertible_to<std::string_view>;
};
template <class L>
concept layer_has_param_count = requires {
    { L::param_count } -> std::convertible_to<std::size_t>;
};
template <class L>
concept layer_has_workspace_size = requires(std::size_t n) {
    { L::workspace_size(n) } -> std::convertible_to<std::size_t>;
};
template <class L, class T>
concept layer_has_bind_parameters = requires(L& l, T* p) {
    l.bind_parameters(p);
};
template <class L>
concept layer_has_initialize = requires(L& l, rng& r) {
    l.initialize(r);
};
template <class L, class T>
concept layer_has_forward = requires(const L& l, const T* in, T* out, std::size_t n,
                                     const pass_context<T>& c) {
    l.forward(in, out, n, c);
};
template <class L, class T>
concept layer_has_backward = requires(const L& l, const T* in, const T* out, T* dout, T* din, T* dparams,
                                      std::size_t n, const pass_context<T>& c) {
    l.backward(in, out, dout, din, dparams, n, c);
};
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
// A layer whose output is its input read with another shape (flatten) states
// `static constexpr bool reshapes_only = true`: layer lists then hand its
// input on as its output and its gradient back unchanged, without a copy.
template <class L>
inline constexpr bool reshapes_only_v = false;
template <class L>
requires requires { L::reshapes_only; }
inline constexpr bool reshapes_only_v<L> = L::reshapes_only;
// A composite's param_count and state_count are the sizes of its slices,
// which pad each child to a cache line; these are the scalars it really has.
template <class L>
inline constexpr std::size_t trainable_count_of = L::param_count;
template <class L>
requires requires { L::trainable_count; }
inline constexpr std::size_t trainable_count_of<L> = L::trainable_count;
template <class L>
inline constexpr std::size_t non_trainable_count_of = state_count_of<L>;
template <class L>
requires requires { L::non_trainable_count; }
inline constexpr std::size_t non_trainable_count_of<L> = L::non_trainable_count;

// Optional members: state (with bind_state) and, for any tensor, visit_tensors.
template <class L, class T>
concept layer_state_is_bound = !requires {
    L::state_count;
}
|| requires(L& l, T* s) { l.bind_state(s); };
struct ignore_tensor {
    template <class Ref>
    void operator()(const Ref&) const {}
};
template <class L>
concept visits_tensors = requires(L& layer) {
    L::visit_tensors(layer, ignore_tensor{});
};
// A composite shows its children instead: f(index, name, child) for each.
struct ignore_child {
    template <class Child>
    void operator()(std::size_t, std::string_view, Child&) const {}
};
template <class L>
concept visits_children = requires(L& layer) {
    L::visit_children(layer, ignore_child{});
};
template <class L>
constexpr bool layer_has_tensors() {
    if constexpr (requires { L::state_count; })
        if (L::state_count > 0) return true;
    return L::param_count > 0;
}
}  // namespace detail

// A bound layer: the protocol stated at the top of this file.
template <class L, class T>
concept layer = detail::layer_has_shapes<L> && detail::layer_has_name<L> &&
    detail::layer_has_param_count<L> && detail::layer_has_workspace_size<L> &&
    detail::layer_has_bind_parameters<L, T> && detail::layer_has_initialize<L> &&
    detail::layer_has_forward<L, T> && detail::layer_has_backward<L, T> &&
    detail::layer_state_is_bound<L, T> &&
    (!detail::layer_has_tensors<L>() || detail::visits_tensors<L> || detail::visits_children<L>);

namespace detail {
// One message naming the first missing member; later checks run only once
// the earlier ones hold, since they would only repeat the first failure.
template <class L, class T>
constexpr bool check_layer() {
    static_assert(layer_has_shapes<L>,
                  "strata::layer: the type has no `using in_shape` and `using out_shape`");
    if constexpr (layer_has_shapes<L>) {
        static_assert(layer_has_name<L>,
                      "strata::layer: the type has no `static constexpr std::string_view name`");
        static_assert(
            layer_has_param_count<L>,
            "strata::layer: the type has no `static constexpr std::size_t param_count` (0 for none; "
            "derive from strata::parameter_free_layer)");
        static_assert(layer_has_workspace_size<L>,
                      "strata::layer: the type has no `static std::size_t workspace_size(std::size_t n)`");
        static_assert(layer_has_bind_parameters<L, T>,
                      "strata::layer: the type has no `void bind_parameters(T*)`");
        static_assert(layer_has_initialize<L>,
                      "strata::layer: the type has no `void initialize(strata::rng&)`");
        static_assert(layer_has_forward<L, T>,
                      "strata::layer: the type has no `void forward(const T* in, T* out, std::size_t n, "
                      "const pass_context<T>&) const`");
        static_assert(
            layer_has_backward<L, T>,
            "strata::layer: the type has no `void backward(const T* in, const T* out, T* dout, T* din, "
            "T* dparams, std::size_t n, const pass_context<T>&) const`");
        static_assert(layer_state_is_bound<L, T>,
                      "strata::layer: the type has a state_count but no `void bind_state(T*)`");
        if constexpr (layer_has_param_count<L>)
            static_assert(!layer_has_tensors<L>() || visits_tensors<L> || visits_children<L>,
                          "strata::layer: a layer with parameters or state must show them through "
                          "`template <class Self, class F> static void visit_tensors(Self&, F&&)`");
    }
    return true;  // the failed assert above is the one message
}
}  // namespace detail

// The marker users write first: the shape of one input sample.
template <std::size_t... Dims>
struct input {
    using shape_type = shape<Dims...>;
};

template <class T>
inline constexpr bool is_input_v = false;
template <std::size_t... D>
inline constexpr bool is_input_v<input<D...>> = true;

// input's shape; one value for anything else, so a missing input is one error.
template <class Input>
struct input_shape {
    using type = shape<1>;
};
template <std::size_t... D>
struct input_shape<input<D...>> {
    using type = shape<D...>;
};
template <class Input>
using input_shape_t = typename input_shape<Input>::type;

// Layer options (stride, padding, bias, initializer) are types tagged with
// their kind, so conv2d<32, 3, relu, same, stride<2>> reads like Keras and
// the options may come in any order.
struct stride_option_kind {};
struct padding_option_kind {};
struct bias_option_kind {};
struct initializer_option_kind {};
struct kernel_regularizer_option_kind {};
struct bias_regularizer_option_kind {};

template <std::size_t S>
struct stride {
    static_assert(S >= 1, "stride must be at least 1");
    using option_kind = stride_option_kind;
    static constexpr std::size_t value = S;
};
struct valid {
    using option_kind = padding_option_kind;
    static constexpr bool is_same = false;
};
struct same {
    using option_kind = padding_option_kind;
    static constexpr bool is_same = true;
};
struct use_bias {
    using option_kind = bias_option_kind;
    static constexpr bool value = true;
};
struct no_bias {
    using option_kind = bias_option_kind;
    static constexpr bool value = false;
};

// No weight penalty: the default, which costs nothing.
struct no_penalty {};

// kernel_regularizer<regularize::l2>: the layer holds an l2 policy object as
// its kernel_penalty, set at run time (net.layer<I>().kernel_penalty = ...).
template <class R>
struct kernel_regularizer {
    using option_kind = kernel_regularizer_option_kind;
    using type = R;
};
template <class R>
struct bias_regularizer {
    using option_kind = bias_regularizer_option_kind;
    using type = R;
};

// What a layer with a kernel and a bias carries for its penalties.
template <class Kernel, class Bias>
struct weight_penalties {
    [[no_unique_address]] Kernel kernel_penalty{};
    [[no_unique_address]] Bias bias_penalty{};
};

namespace detail {

template <class Option, class = void>
struct has_option_kind : std::false_type {};
template <class Option>
struct has_option_kind<Option, std::void_t<typename Option::option_kind>> : std::true_type {};

// Whether Option is of Kind; false for a type that is no option at all, which
// the layer's own check reports once.
template <class Option, class Kind>
constexpr bool option_is() {
    if constexpr (has_option_kind<Option>::value)
        return std::is_same_v<typename Option::option_kind, Kind>;
    else
        return false;
}

template <class Kind, class Default, class... Options>
struct find_option {
    using type = Default;
};
template <class Kind, class Default, class First, class... Rest>
struct find_option<Kind, Default, First, Rest...> {
    using type = std::conditional_t<option_is<First, Kind>(), First,
                                    typename find_option<Kind, Default, Rest...>::type>;
};

template <class... Kinds>
struct allowed_kinds {
    template <class Option>
    static constexpr bool accepts() {
        if constexpr (has_option_kind<Option>::value)
            return (std::is_same_v<typename Option::option_kind, Kinds> || ...);
        else
            return false;
    }
};

}  // namespace detail

template <class Kind, class Default, class... Options>
using option_t = typename detail::find_option<Kind, Default, Options...>::type;

// One tensor of a layer as its visit_tensors shows it. V is T or const T,
// following the layer's constness; Penalty is the attached weight penalty
// type (no_penalty when none).
template <class V, class Penalty = const no_penalty>
struct tensor_ref {
    std::string_view name;        // strata's file name part: weight, bias, gamma, moving_mean, ...
    std::string_view torch_name;  // PyTorch's state_dict name: weight, bias, running_mean, ...
    V* data;                      // in the network's parameters if trainable, else in its state
    std::size_t count;
    bool trainable;
    std::array<std::size_t, 4> dims{};  // strata's layout, row-major; rank entries used
    std::size_t rank = 1;
    std::array<std::size_t, 4> torch_axes{0, 1, 2, 3};  // PyTorch's axis a is strata's torch_axes[a]
    Penalty* penalty = nullptr;  // the layer's own penalty on this tensor, if it has one
    bool kernel = false;         // a kernel: what weight_penalty{R} in fit applies to
};

// visit_tensors of a layer with a kernel and an optional bias (conv2d, dense):
// L::weight_dims in strata's layout, L::torch_axes for PyTorch's.
template <class Self, class F>
void visit_kernel_and_bias(Self& self, F&& f) {
    using L = std::remove_const_t<Self>;
    using V = std::remove_pointer_t<decltype(self.weights())>;  // const T for a const layer
    constexpr std::size_t rank = L::weight_dims.size();
    static_assert(rank <= 4);
    tensor_ref<V, std::remove_reference_t<decltype((self.kernel_penalty))>> kernel{
        "weight", "weight", self.weights(), L::weight_count, true, {}, rank, {}, &self.kernel_penalty, true};
    for (std::size_t a = 0; a < rank; ++a) {
        kernel.dims[a] = L::weight_dims[a];
        kernel.torch_axes[a] = L::torch_axes[a];
    }
    f(kernel);
    if constexpr (L::bias_count > 0)
        f(tensor_ref<V, std::remove_reference_t<decltype((self.bias_penalty))>>{"bias",
                                                                                "bias",
                                                                                self.bias(),
                                                                                L::bias_count,
                                                                                true,
                                                                                {L::bias_count},
                                                                                1,
                                                                                {0, 1, 2, 3},
                                                                                &self.bias_penalty,
                                                                                false});
}

template <class... Options>
using weight_penalties_from = weight_penalties<
    typename option_t<kernel_regularizer_option_kind, kernel_regularizer<no_penalty>, Options...>::type,
    typename option_t<bias_regularizer_option_kind, bias_regularizer<no_penalty>, Options...>::type>;

}  // namespace strata
