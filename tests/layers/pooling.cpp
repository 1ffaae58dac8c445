#include <doctest/doctest.h>
#include <strata/layers/avg_pool.hpp>
#include <strata/layers/flatten.hpp>
#include <strata/layers/global_avg_pool.hpp>
#include <strata/layers/global_max_pool.hpp>
#include <strata/layers/max_pool.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;
using st::testing::require_gradients_match;

TEST_CASE("max_pool picks each window's maximum per channel") {
    using L = st::max_pool<2>::bind<float, st::shape<2, 4, 2>>;
    static_assert(std::is_same_v<L::out_shape, st::shape<1, 2, 2>>);
    // (y, x, c) = value; channel 1 is channel 0 negated.
    float x[16];
    const float c0[8] = {1, 5, 2, 0, 3, 4, 7, 6};
    for (int i = 0; i < 8; ++i) {
        x[2 * i] = c0[i];
        x[2 * i + 1] = -c0[i];
    }
    float out[4];
    L{}.forward(x, out, 1, {});
    CHECK(out[0] == 5);   // window x 0..1: {1,5,3,4}
    CHECK(out[1] == -1);  // its negation's max
    CHECK(out[2] == 7);   // {2,0,7,6}
    CHECK(out[3] == 0);
}

TEST_CASE("max_pool backward routes the gradient to the first maximum") {
    using L = st::max_pool<2>::bind<float, st::shape<2, 2, 1>>;
    const float x[4] = {3, 3, 1, 2};  // a tie: the first 3 wins
    float out[1], dout[1] = {2.5f}, din[4];
    L layer;
    layer.forward(x, out, 1, {});
    layer.backward(x, out, dout, din, nullptr, 1, {});
    CHECK(din[0] == 2.5f);
    CHECK(din[1] == 0);
    CHECK(din[2] == 0);
    CHECK(din[3] == 0);
}

TEST_CASE("pooling backward matches finite differences") {
    SUBCASE("max_pool 2, 16 channels (SIMD path)") {
        require_gradients_match<st::max_pool<2>, st::shape<6, 6, 16>>(2);
    }
    SUBCASE("max_pool 3 stride 2, 3 channels (scalar tail)") {
        require_gradients_match<st::max_pool<3, 2>, st::shape<7, 8, 3>>(2);
    }
    SUBCASE("max_pool drops the odd last row/column") {
        require_gradients_match<st::max_pool<2>, st::shape<5, 5, 2>>(2);
    }
    SUBCASE("avg_pool 2") { require_gradients_match<st::avg_pool<2>, st::shape<4, 6, 3>>(2); }
    SUBCASE("avg_pool 3 stride 1") { require_gradients_match<st::avg_pool<3, 1>, st::shape<5, 5, 2>>(2); }
    SUBCASE("global_avg_pool") { require_gradients_match<st::global_avg_pool, st::shape<3, 4, 5>>(3); }
    SUBCASE("global_max_pool") { require_gradients_match<st::global_max_pool, st::shape<3, 4, 5>>(3); }
    SUBCASE("flatten") { require_gradients_match<st::flatten, st::shape<3, 2, 4>>(2); }
}

TEST_CASE("avg_pool and global_avg_pool compute means") {
    const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};  // 2x2 image, 2 channels
    float out[2];
    st::avg_pool<2>::bind<float, st::shape<2, 2, 2>>{}.forward(x, out, 1, {});
    CHECK(out[0] == doctest::Approx(4));
    CHECK(out[1] == doctest::Approx(5));
    float g[2];
    st::global_avg_pool::bind<float, st::shape<2, 2, 2>>{}.forward(x, g, 1, {});
    CHECK(g[0] == doctest::Approx(4));
    CHECK(g[1] == doctest::Approx(5));
    static_assert(
        std::is_same_v<st::global_avg_pool::bind<float, st::shape<2, 2, 2>>::out_shape, st::shape<2>>);
    static_assert(std::is_same_v<st::flatten::bind<float, st::shape<2, 3, 4>>::out_shape, st::shape<24>>);
}

TEST_CASE("global_max_pool keeps each channel's maximum and sends its gradient to the first maximum only") {
    // 2x2 image, 2 channels; channel 1 has its maximum twice (pixels 1 and 3).
    const float x[8] = {1, 7, 5, 2, 3, 0, -1, 7};
    using L = st::global_max_pool::bind<float, st::shape<2, 2, 2>>;
    static_assert(std::is_same_v<L::out_shape, st::shape<2>>);
    float out[2];
    L{}.forward(x, out, 1, {});
    CHECK(out[0] == 5);
    CHECK(out[1] == 7);
    float dout[2] = {0.5f, -2.0f}, din[8];
    L{}.backward(x, out, dout, din, nullptr, 1, {});
    const float expected[8] = {0, -2.0f, 0.5f, 0, 0, 0, 0, 0};
    for (int i = 0; i < 8; ++i) CHECK(din[i] == expected[i]);
}
