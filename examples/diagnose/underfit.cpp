// underfit's network: the image averaged down to 4 x 4 and one dense layer
// on it (170 parameters), in a translation unit of its own.
#include "train.hpp"

namespace diagnose_example {

using tiny_net = st::sequential<st::input<28, 28, 1>, st::avg_pool<7>, st::flatten, st::dense<10>>;

outcome train_tiny(const context& c, const job& j) { return train_classifier<tiny_net>(c, j); }

}  // namespace diagnose_example
