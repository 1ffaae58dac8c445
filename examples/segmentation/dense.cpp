// The articles' dense-output network of the segmentation example, in a
// translation unit of its own.
#include "train.hpp"

namespace segmentation_example {

using dense_t = st::sequential<st::input<side, side, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                               st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                               st::dense<128, st::relu>, st::dense<side * side * classes>>;

outcome train_dense_output(const context& c) {
    return train_and_test<dense_t>(c, "dense_output", c.opt.dense_epochs);
}

}  // namespace segmentation_example
