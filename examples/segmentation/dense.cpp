// The articles' dense-output network of the segmentation example, in a
// translation unit of its own.
#include "train.hpp"

namespace segmentation_example {

outcome train_dense_output(const context& c) {
    return train_and_test<dense_output_t>(c, "dense_output", c.opt.dense_epochs);
}

}  // namespace segmentation_example
