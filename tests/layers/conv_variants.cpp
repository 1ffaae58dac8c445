// conv2d_transpose and depthwise_conv2d: shapes as Keras gives them,
// hand-computed outputs, and gradients against finite differences.
#include <array>
#include <vector>

#include <doctest/doctest.h>
#include <strata/layers/chain.hpp>
#include <strata/layers/conv2d_transpose.hpp>
#include <strata/layers/depthwise_conv2d.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;
using st::testing::require_gradients_match;

TEST_CASE("conv2d_transpose output shapes follow Keras' Conv2DTranspose") {
    static_assert(
        std::is_same_v<st::conv2d_transpose<4, 2, st::stride<2>>::bind<float, st::shape<5, 7, 3>>::out_shape,
                       st::shape<10, 14, 4>>);
    static_assert(
        std::is_same_v<st::conv2d_transpose<4, 3, st::stride<2>>::bind<float, st::shape<5, 7, 3>>::out_shape,
                       st::shape<11, 15, 4>>);
    static_assert(
        std::is_same_v<
            st::conv2d_transpose<4, 3, st::same, st::stride<2>>::bind<float, st::shape<5, 7, 3>>::out_shape,
            st::shape<10, 14, 4>>);
    static_assert(
        std::is_same_v<st::conv2d_transpose<2, 3, st::same>::bind<float, st::shape<4, 4, 1>>::out_shape,
                       st::shape<4, 4, 2>>);
}

TEST_CASE("conv2d_transpose spreads each input pixel over a kernel-sized patch of the output") {
    // One channel, 2x2 kernel, stride 2: each pixel becomes a 2x2 block scaled by it.
    using L = st::conv2d_transpose<1, 2, st::stride<2>, st::no_bias>::bind<float, st::shape<1, 2, 1>>;
    L layer;
    std::array<float, 4> w{1, 2, 3, 4};  // [ky][kx][filter][channel]
    layer.bind_parameters(w.data());
    const std::array<float, 2> x{1, 10};
    std::vector<float> out(8), ws(L::workspace_size(1));
    layer.forward(x.data(), out.data(), 1, {.workspace = ws.data()});
    CHECK(out == std::vector<float>{1, 2, 10, 20, 3, 4, 30, 40});
    // Stride 1, 2x2 kernel, valid: overlapping patches add up.
    using O = st::conv2d_transpose<1, 2, st::no_bias>::bind<float, st::shape<1, 2, 1>>;
    O overlap;
    overlap.bind_parameters(w.data());
    std::vector<float> out2(6), ws2(O::workspace_size(1));
    overlap.forward(x.data(), out2.data(), 1, {.workspace = ws2.data()});
    CHECK(out2 == std::vector<float>{1, 2 + 10, 20, 3, 4 + 30, 40});
}

TEST_CASE("conv2d_transpose backward matches finite differences") {
    SUBCASE("stride 2, kernel 2") {
        require_gradients_match<st::conv2d_transpose<3, 2, st::tanh, st::stride<2>>, st::shape<3, 2, 2>>(2);
    }
    SUBCASE("stride 2, kernel 3, valid") {
        require_gradients_match<st::conv2d_transpose<2, 3, st::stride<2>>, st::shape<3, 3, 3>>(2);
    }
    SUBCASE("stride 2, kernel 3, same (the odd pixel cropped last)") {
        require_gradients_match<st::conv2d_transpose<2, 3, st::elu, st::same, st::stride<2>>,
                                st::shape<3, 4, 2>>(2);
    }
    SUBCASE("stride 1, kernel 3, same, no bias") {
        require_gradients_match<st::conv2d_transpose<3, 3, st::same, st::no_bias>, st::shape<4, 3, 2>>(2);
    }
}

TEST_CASE("depthwise_conv2d convolves each channel with its own kernels") {
    static_assert(std::is_same_v<st::depthwise_conv2d<3, 2>::bind<float, st::shape<6, 5, 3>>::out_shape,
                                 st::shape<4, 3, 6>>);
    static_assert(
        std::is_same_v<
            st::depthwise_conv2d<3, 1, st::same, st::stride<2>>::bind<float, st::shape<6, 5, 3>>::out_shape,
            st::shape<3, 3, 3>>);
    // A 1x1 kernel with multiplier 2 on two channels: out = (2 a, 3 a, 5 b, 7 b) + bias.
    using L = st::depthwise_conv2d<1, 2>::bind<float, st::shape<1, 1, 2>>;
    L layer;
    std::array<float, 8> p{2, 3, 5, 7, 0.5f, 0, 0, -1};
    layer.bind_parameters(p.data());
    const std::array<float, 2> x{1, 10};
    std::vector<float> out(4);
    layer.forward(x.data(), out.data(), 1, {});
    CHECK(out == std::vector<float>{2.5f, 3, 50, 69});
}

TEST_CASE("depthwise_conv2d backward matches finite differences") {
    SUBCASE("3x3, multiplier 1, valid") {
        require_gradients_match<st::depthwise_conv2d<3>, st::shape<5, 4, 3>>(2);
    }
    SUBCASE("3x3, multiplier 2, same, stride 2, tanh") {
        require_gradients_match<st::depthwise_conv2d<3, 2, st::tanh, st::same, st::stride<2>>,
                                st::shape<5, 5, 2>>(2);
    }
    SUBCASE("separable: depthwise then a 1x1 conv2d") {
        require_gradients_match<st::chain<st::depthwise_conv2d<3, 1, st::same>, st::conv2d<4, 1, st::relu>>,
                                st::shape<4, 4, 3>>(2);
    }
}
