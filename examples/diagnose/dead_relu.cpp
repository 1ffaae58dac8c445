// dead_relu's network: the reference network whose dense ReLU layer starts
// with half its units dead, in a translation unit of its own.
#include <cmath>
#include <string_view>

#include "train.hpp"

namespace diagnose_example {

// Glorot-uniform weights, except that the first half of the units get only
// non-positive ones. The layer reads pooled ReLU outputs, which are
// never negative, so those units never activate; a ReLU passes no gradient
// where it is off, so they never recover either.
struct dead_start {
    using option_kind = st::initializer_option_kind;
    static constexpr std::string_view name = "dead_start";
    template <class T>
    static void fill(T* w, std::size_t count, std::size_t fan_in, std::size_t fan_out, st::rng& r) {
        st::init::glorot_uniform::fill(w, count, fan_in, fan_out, r);
        const std::size_t dead = fan_out / 2;
        for (std::size_t i = 0; i < count; ++i)  // [input][unit]
            if (i % fan_out < dead) w[i] = -std::abs(w[i]);
    }
};

using dead_relu_net = st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                                     st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                                     st::dense<128, st::relu, dead_start>, st::dropout<0.5>, st::dense<10>>;

outcome train_dead_relu(const context& c, const job& j) { return train_classifier<dead_relu_net>(c, j); }

}  // namespace diagnose_example
