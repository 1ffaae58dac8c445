// overfit's network: the reference network without its dropout, in a
// translation unit of its own.
#include "train.hpp"

namespace diagnose_example {

using no_dropout_net = st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                                      st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                                      st::dense<128, st::relu>, st::dense<10>>;

outcome train_without_dropout(const context& c, const job& j) {
    return train_classifier<no_dropout_net>(c, j);
}

}  // namespace diagnose_example
