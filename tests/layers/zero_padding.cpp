#include <doctest/doctest.h>
#include <strata/layers/zero_padding.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;
using st::testing::require_gradients_match;

TEST_CASE("zero_padding backward matches finite differences") {
    SUBCASE("P = 1") { require_gradients_match<st::zero_padding<1>, st::shape<3, 4, 2>>(2); }
    SUBCASE("P = 2") { require_gradients_match<st::zero_padding<2>, st::shape<2, 2, 3>>(2); }
}

TEST_CASE("zero_padding surrounds the image with zeros and passes back only the interior's gradient") {
    using L = st::zero_padding<1>::bind<float, st::shape<1, 2, 2>>;
    static_assert(std::is_same_v<L::out_shape, st::shape<3, 4, 2>>);
    const float x[4] = {1, 2, 3, 4};
    float out[24];
    L{}.forward(x, out, 1, {});
    float expected[24] = {};
    expected[10] = 1;  // row 1, column 1
    expected[11] = 2;
    expected[12] = 3;  // row 1, column 2
    expected[13] = 4;
    for (int i = 0; i < 24; ++i) CHECK(out[i] == expected[i]);
    float dout[24], din[4];
    for (int i = 0; i < 24; ++i) dout[i] = float(i);
    L{}.backward(x, out, dout, din, nullptr, 1, {});
    CHECK(din[0] == 10);
    CHECK(din[1] == 11);
    CHECK(din[2] == 12);
    CHECK(din[3] == 13);
}
