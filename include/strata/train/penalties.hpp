// Walks a network's kernels and biases applying weight penalties: the ones
// attached to layers (kernel_regularizer<R>, bias_regularizer<R>) and one fit
// applies to every kernel (weight_penalty{R}). Networks without penalties
// compile this to nothing.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <type_traits>
#include <utility>

#include "../layers/layer.hpp"
#include "../model/sequential.hpp"
#include "../regularize/penalty.hpp"

namespace strata::detail {

// A penalty applied to one tensor: adds its gradient (when the gradient span
// is not empty) and returns its value.
template <class T>
using tensor_penalty = std::function<double(std::span<const T>, std::span<T>)>;

template <class R, class T>
tensor_penalty<T> erase_penalty(const R& r) {
    return [r](std::span<const T> w, std::span<T> g) {
        if (!g.empty()) r.add_gradient(w, g);
        return static_cast<double>(r.penalty(w));
    };
}

template <class P>
inline constexpr bool is_penalty_v = !std::is_same_v<std::remove_cvref_t<P>, no_penalty>;

template <class L>
constexpr bool layer_has_penalty() {
    if constexpr (requires(const L& l) { l.kernel_penalty; })
        return is_penalty_v<decltype(std::declval<const L&>().kernel_penalty)> ||
               is_penalty_v<decltype(std::declval<const L&>().bias_penalty)>;
    else
        return false;
}

template <class Net>
inline constexpr bool net_has_layer_penalties = [] {
    return []<std::size_t... I>(std::index_sequence<I...>) {
        return (layer_has_penalty<typename Net::template layer_type<I>>() || ...);
    }
    (std::make_index_sequence<Net::layer_count>{});
}();

// Calls f(weights, offset in the parameter buffer, penalty object or
// no_penalty, is_kernel) for every kernel and bias.
template <class Net, class F>
void for_each_penalised_tensor(const Net& net, F&& f) {
    using T = typename Net::scalar_type;
    const T* base = net.parameters().data();
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using L = typename Net::template layer_type<I>;
                if constexpr (requires { L::weight_dims; }) {
                    const auto& layer = net.template layer<I>();
                    f(std::span<const T>(layer.weights(), L::weight_count),
                      static_cast<std::size_t>(layer.weights() - base), layer.kernel_penalty, true);
                    if constexpr (L::bias_count > 0)
                        f(std::span<const T>(layer.bias(), L::bias_count),
                          static_cast<std::size_t>(layer.bias() - base), layer.bias_penalty, false);
                }
            }(),
            ...);
    }
    (std::make_index_sequence<Net::layer_count>{});
}

// The sum of every penalty at the current weights; with a non-empty
// gradients span (the network's layout) also adds their gradients to it.
template <class Net>
double apply_weight_penalties(const Net& net, std::span<typename Net::scalar_type> gradients,
                              const tensor_penalty<typename Net::scalar_type>& global) {
    using T = typename Net::scalar_type;
    double total = 0;
    if (!net_has_layer_penalties<Net> && !global) return total;
    for_each_penalised_tensor(
        net, [&](std::span<const T> w, std::size_t offset, const auto& penalty, bool kernel) {
            const std::span<T> g = gradients.empty() ? std::span<T>() : gradients.subspan(offset, w.size());
            if constexpr (is_penalty_v<decltype(penalty)>) {
                static_assert(check_regularizer<std::remove_cvref_t<decltype(penalty)>, T>());
                if (!g.empty()) penalty.add_gradient(w, g);
                total += static_cast<double>(penalty.penalty(w));
            }
            if (kernel && global) total += global(w, g);
        });
    return total;
}

// Runs each attached penalty's check(), so bad settings fail before training.
template <class Net>
void check_weight_penalties(const Net& net) {
    for_each_penalised_tensor(net, [](auto, std::size_t, const auto& penalty, bool) {
        if constexpr (requires { penalty.check(); }) penalty.check();
    });
}

}  // namespace strata::detail
