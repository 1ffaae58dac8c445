// The reference network of examples/fashion_mnist, in a translation unit of
// its own: healthy, lr_high, lr_low, imbalance, label_noise and leak train it.
#include "train.hpp"

namespace diagnose_example {

using reference_net = st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                                     st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                                     st::dense<128, st::relu>, st::dropout<0.5>, st::dense<10>>;

outcome train_reference(const context& c, const job& j) { return train_classifier<reference_net>(c, j); }

}  // namespace diagnose_example
