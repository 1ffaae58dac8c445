// The reference network of examples/fashion_mnist, in a translation unit of
// its own: healthy, lr_high, lr_low, imbalance, label_noise and leak train it.
#include "train.hpp"

namespace diagnose_example {

using reference_net = st::models::fashion_mnist_cnn;

outcome train_reference(const context& c, const job& j) { return train_classifier<reference_net>(c, j); }

}  // namespace diagnose_example
