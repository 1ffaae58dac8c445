// A chain of every layer and option strata-onnx prints: describe's test
// (onnx.cpp) and the OpenCV check (export_tool.cpp) share it.
#pragma once

#include <strata/strata.hpp>

namespace onnx_test {
namespace st = strata;
using chain_zoo_net = st::sequential<
    st::input<17, 17, 3>, st::zero_padding<1>, st::conv2d<8, 3, st::leaky_relu, st::stride<2>, st::same>,
    st::depthwise_conv2d<3, 2, st::elu, st::same>, st::conv2d<8, 1, st::tanh, st::no_bias>,
    st::avg_pool<2, 1>, st::conv2d_transpose<6, 3, st::relu, st::stride<2>, st::same>,
    st::upsample<2, st::bilinear>, st::max_pool<2>, st::batch_norm, st::conv2d<4, 3, st::basic_elu<0.5>>,
    st::upsample<2>, st::conv2d_transpose<3, 2, st::stride<2>>, st::global_max_pool, st::batch_norm,
    st::dense<16, st::basic_leaky_relu<0.2>>, st::dense<5, st::softmax, st::no_bias>>;
}  // namespace onnx_test
