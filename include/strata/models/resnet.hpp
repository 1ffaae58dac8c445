// resnet<Depth, Input, Classes>: the ResNet of He et al. for small images
// (their CIFAR-10 networks, section 4.2): a 3x3 convolution with 16 filters,
// three stages of (Depth - 2) / 6 basic blocks with 16, 32 and 64 filters,
// the second and third halving the image, global average pooling and a dense
// classifier. Where a block changes the shape its shortcut is a strided 1x1
// convolution with batch_norm (their option B). ResNet-20 has 0.27M parameters.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "../layers/activation.hpp"
#include "../layers/batch_norm.hpp"
#include "../layers/chain.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/dense.hpp"
#include "../layers/global_avg_pool.hpp"
#include "../layers/residual.hpp"
#include "../model/sequential.hpp"

namespace strata {

namespace models {

// conv-bn-relu-conv-bn plus the input; a block that strides projects its input.
template <std::size_t Filters, std::size_t Stride>
using basic_block =
    std::conditional_t<Stride == 1,
                       residual<conv2d<Filters, 3, same, no_bias>, batch_norm, relu,
                                conv2d<Filters, 3, same, no_bias>, batch_norm>,
                       residual<conv2d<Filters, 3, same, stride<Stride>, no_bias>, batch_norm, relu,
                                conv2d<Filters, 3, same, no_bias>, batch_norm,
                                shortcut<conv2d<Filters, 1, stride<Stride>, no_bias>, batch_norm>>>;

namespace detail {
// chain<first block, relu, block, relu, ...>: Blocks blocks, each followed by relu.
template <std::size_t Filters, std::size_t Stride, class Indices>
struct stage;
template <std::size_t Filters, std::size_t Stride, std::size_t... I>
struct stage<Filters, Stride, std::index_sequence<I...>> {
    using type = chain<std::conditional_t<I % 2 == 1, relu, basic_block<Filters, I == 0 ? Stride : 1>>...>;
};
}  // namespace detail

template <std::size_t Filters, std::size_t Blocks, std::size_t Stride>
using resnet_stage = typename detail::stage<Filters, Stride, std::make_index_sequence<2 * Blocks>>::type;

template <std::size_t Depth, class Input, std::size_t Classes, class T = float>
using resnet = basic_sequential<T, Input, conv2d<16, 3, same, no_bias>, batch_norm, relu,
                                resnet_stage<16, (Depth - 2) / 6, 1>, resnet_stage<32, (Depth - 2) / 6, 2>,
                                resnet_stage<64, (Depth - 2) / 6, 2>, global_avg_pool, dense<Classes>>;

}  // namespace models
}  // namespace strata
