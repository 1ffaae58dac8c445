// summary(net): a table like Keras' model.summary() — each layer's name,
// output shape and parameter count, then the totals — from compile-time facts.
#pragma once

#include <cstddef>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../layers/layer.hpp"

#include "sequential.hpp"

namespace strata {

struct summary_row {
    std::string_view layer;
    std::string output_shape;
    std::size_t params;  // trainable and non-trainable, as Keras counts them
    std::size_t index;   // within its parent
    std::size_t depth;   // 0 for the network's own layers, 1 inside a composite, ...
};

// Every layer, a composite's children listed after it one level deeper.
template <class Net>
struct network_summary {
    static constexpr std::size_t trainable_params = Net::param_count;
    static constexpr std::size_t non_trainable_params = Net::state_count;
    static constexpr std::size_t total_params = trainable_params + non_trainable_params;
    std::vector<summary_row> rows;
};

namespace detail {
inline std::string with_thousands(std::size_t v) {
    std::string digits = std::to_string(v), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}
}  // namespace detail

namespace detail {
template <class Layer>
void add_summary_rows(std::vector<summary_row>& rows, std::size_t index, const Layer& layer,
                      std::size_t depth) {
    using L = std::remove_const_t<Layer>;
    rows.push_back({L::name, L::out_shape::to_string(), trainable_count_of<L> + non_trainable_count_of<L>,
                    index, depth});
    if constexpr (visits_children<L>)
        L::visit_children(layer, [&](std::size_t i, std::string_view, const auto& child) {
            add_summary_rows(rows, i, child, depth + 1);
        });
}
}  // namespace detail

template <class T, class Input, class... Layers>
network_summary<basic_sequential<T, Input, Layers...>> summary(
    const basic_sequential<T, Input, Layers...>& net) {
    using Net = basic_sequential<T, Input, Layers...>;
    network_summary<Net> s;
    Net::visit_children(net, [&](std::size_t i, std::string_view, const auto& layer) {
        detail::add_summary_rows(s.rows, i, layer, 0);
    });
    return s;
}

template <class Net>
std::ostream& operator<<(std::ostream& os, const network_summary<Net>& s) {
    constexpr int name_w = 24, shape_w = 20, param_w = 12;
    const std::string rule(name_w + shape_w + param_w, '=');
    const std::string thin(name_w + shape_w + param_w, '_');
    std::ostringstream out;
    out << "Model: sequential, input " << Net::in_shape::to_string() << "\n" << thin << "\n";
    auto row = [&](std::string_view a, std::string_view b, std::string_view c) {
        out << a << std::string(a.size() < name_w ? name_w - a.size() : 1, ' ') << b
            << std::string(b.size() < shape_w ? shape_w - b.size() : 1, ' ')
            << std::string(c.size() < param_w ? param_w - c.size() : 0, ' ') << c << "\n";
    };
    row("Layer (type)", "Output Shape", "Param #");
    out << rule << "\n";
    for (const auto& r : s.rows)
        row(std::string(2 * r.depth, ' ') + std::string(r.layer) + "_" + std::to_string(r.index),
            r.output_shape, detail::with_thousands(r.params));
    out << rule << "\n"
        << "Total params: " << detail::with_thousands(s.total_params) << "\n"
        << "Trainable params: " << detail::with_thousands(s.trainable_params) << "\n"
        << "Non-trainable params: " << detail::with_thousands(s.non_trainable_params) << "\n"
        << thin << "\n";
    return os << out.str();
}

}  // namespace strata
