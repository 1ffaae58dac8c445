// The networks the README, the examples and the benchmarks call "the
// reference network": two 3x3 convolutions with max pooling, a dense layer
// of 128 with dropout, 10 logits (225,034 parameters), and the same with
// batch_norm after each convolution. For 28x28 grey images (Fashion-MNIST).
#pragma once

#include "../layers/activation.hpp"
#include "../layers/batch_norm.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/dense.hpp"
#include "../layers/dropout.hpp"
#include "../layers/flatten.hpp"
#include "../layers/max_pool.hpp"
#include "../model/sequential.hpp"

namespace strata::models {

using fashion_mnist_cnn = sequential<input<28, 28, 1>, conv2d<32, 3, relu>, max_pool<2>, conv2d<64, 3, relu>,
                                     max_pool<2>, flatten, dense<128, relu>, dropout<0.5>, dense<10>>;

using fashion_mnist_cnn_bn =
    sequential<input<28, 28, 1>, conv2d<32, 3, relu>, batch_norm, max_pool<2>, conv2d<64, 3, relu>,
               batch_norm, max_pool<2>, flatten, dense<128, relu>, dropout<0.5>, dense<10>>;

}  // namespace strata::models
