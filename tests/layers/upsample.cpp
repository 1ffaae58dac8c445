#include <doctest/doctest.h>
#include <strata/layers/upsample.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;
using st::testing::require_gradients_match;

TEST_CASE("upsample backward matches finite differences") {
    SUBCASE("nearest 2") { require_gradients_match<st::upsample<2>, st::shape<3, 4, 2>>(2); }
    SUBCASE("nearest 3") { require_gradients_match<st::upsample<3>, st::shape<2, 3, 3>>(2); }
    SUBCASE("bilinear 2") { require_gradients_match<st::upsample<2, st::bilinear>, st::shape<3, 4, 2>>(2); }
    SUBCASE("bilinear 3") { require_gradients_match<st::upsample<3, st::bilinear>, st::shape<4, 2, 3>>(2); }
}

TEST_CASE("upsample repeats or interpolates with half-pixel centres") {
    const float x[2] = {0, 4};  // one row, two pixels, one channel
    using nearest = st::upsample<2>::bind<float, st::shape<1, 2, 1>>;
    using bilinear = st::upsample<2, st::bilinear>::bind<float, st::shape<1, 2, 1>>;
    static_assert(std::is_same_v<nearest::out_shape, st::shape<2, 4, 1>>);
    float out[8];
    nearest{}.forward(x, out, 1, {});
    const float repeated[8] = {0, 0, 4, 4, 0, 0, 4, 4};
    for (int i = 0; i < 8; ++i) CHECK(out[i] == repeated[i]);
    // Output column o reads input (o + 0.5) / 2 - 0.5, clamped to [0, 1]: 0, 0.25, 0.75, 1.
    bilinear{}.forward(x, out, 1, {});
    const float interpolated[8] = {0, 1, 3, 4, 0, 1, 3, 4};
    for (int i = 0; i < 8; ++i) CHECK(out[i] == doctest::Approx(interpolated[i]));
    // Each input pixel gets the weights it was read with: 1 + 0.75 + 0.25 and 0.25 + 0.75 + 1, per row.
    float dout[8] = {1, 1, 1, 1, 1, 1, 1, 1}, din[2];
    bilinear{}.backward(x, out, dout, din, nullptr, 1, {});
    CHECK(din[0] == doctest::Approx(4));
    CHECK(din[1] == doctest::Approx(4));
}
