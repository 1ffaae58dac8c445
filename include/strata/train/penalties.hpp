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
#include "../model/visit.hpp"
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

// The sum of every penalty at the current weights; with a non-empty
// gradients span (the network's layout) also adds their gradients to it.
template <class Net>
double apply_weight_penalties(const Net& net, std::span<typename Net::scalar_type> gradients,
                              const tensor_penalty<typename Net::scalar_type>& global) {
    using T = typename Net::scalar_type;
    double total = 0;
    const T* base = net.parameters().data();
    for_each_tensor(net, [&](const layer_path&, const auto& t) {
        if (!t.trainable) return;
        const std::span<const T> w(t.data, t.count);
        const std::span<T> g = gradients.empty()
                                   ? std::span<T>()
                                   : gradients.subspan(static_cast<std::size_t>(t.data - base), t.count);
        using P = std::remove_cvref_t<decltype(*t.penalty)>;
        if constexpr (is_penalty_v<P>) {
            static_assert(check_regularizer<P, T>());
            if (!g.empty()) t.penalty->add_gradient(w, g);
            total += static_cast<double>(t.penalty->penalty(w));
        }
        if (t.kernel && global) total += global(w, g);
    });
    return total;
}

// Runs each attached penalty's check(), so bad settings fail before training.
template <class Net>
void check_weight_penalties(const Net& net) {
    for_each_tensor(net, [](const layer_path&, const auto& t) {
        if constexpr (requires { t.penalty->check(); }) t.penalty->check();
    });
}

}  // namespace strata::detail
