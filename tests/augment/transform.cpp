// The resampler and the affine maps: fill modes, interpolation, exact maps.
#include <cmath>
#include <cstddef>
#include <numbers>
#include <vector>

#include <doctest/doctest.h>
#include <strata/augment/transform.hpp>
#include <support/images.hpp>

namespace st = strata;
namespace sa = strata::augment;

namespace {
using strata::testing::ramp_4x5;

template <class T = double>
std::vector<T> warped(const std::vector<T>& in, sa::image_shape s, const sa::affine& m,
                      sa::sampling how = {}) {
    std::vector<T> out(in.size());
    sa::warp(in.data(), out.data(), s, m, how);
    return out;
}

sa::sampling fill(sa::fill_mode f, double value = 0, sa::interpolation i = sa::interpolation::bilinear) {
    return {.interpolation = i, .fill = f, .fill_value = value};
}

const sa::image_shape shape_4x5{4, 5, 1};
}  // namespace

TEST_CASE("integer shifts move pixels exactly and each fill mode writes Keras' border") {
    const auto in = ramp_4x5();
    // Content right by 2, down by 1: out(r, c) = in(r - 1, c - 2).
    const auto right_down = sa::affine::shift(2, 1);
    for (auto interp : {sa::interpolation::bilinear, sa::interpolation::nearest}) {
        CAPTURE(static_cast<int>(interp));
        CHECK(warped(in, shape_4x5, right_down, fill(sa::fill_mode::nearest, 0, interp)) ==
              std::vector<double>{0,  0,  0,  1,  2,   //
                                  0,  0,  0,  1,  2,   //
                                  10, 10, 10, 11, 12,  //
                                  20, 20, 20, 21, 22});
        CHECK(warped(in, shape_4x5, right_down, fill(sa::fill_mode::constant, -1, interp)) ==
              std::vector<double>{-1, -1, -1, -1, -1,  //
                                  -1, -1, 0,  1,  2,   //
                                  -1, -1, 10, 11, 12,  //
                                  -1, -1, 20, 21, 22});
        CHECK(warped(in, shape_4x5, right_down, fill(sa::fill_mode::reflect, 0, interp)) ==
              std::vector<double>{1,  0,  0,  1,  2,   //
                                  1,  0,  0,  1,  2,   //
                                  11, 10, 10, 11, 12,  //
                                  21, 20, 20, 21, 22});
        CHECK(warped(in, shape_4x5, right_down, fill(sa::fill_mode::wrap, 0, interp)) ==
              std::vector<double>{33, 34, 30, 31, 32,  //
                                  3,  4,  0,  1,  2,   //
                                  13, 14, 10, 11, 12,  //
                                  23, 24, 20, 21, 22});
        // Left by 3, up by 2: out(r, c) = in(r + 2, c + 3), reading past the far edges.
        const auto left_up = sa::affine::shift(-3, -2);
        CHECK(warped(in, shape_4x5, left_up, fill(sa::fill_mode::reflect, 0, interp)) ==
              std::vector<double>{23, 24, 24, 23, 22,  //
                                  33, 34, 34, 33, 32,  //
                                  33, 34, 34, 33, 32,  //
                                  23, 24, 24, 23, 22});
        CHECK(warped(in, shape_4x5, left_up, fill(sa::fill_mode::wrap, 0, interp)) ==
              std::vector<double>{23, 24, 20, 21, 22,  //
                                  33, 34, 30, 31, 32,  //
                                  3,  4,  0,  1,  2,   //
                                  13, 14, 10, 11, 12});
        CHECK(warped(in, shape_4x5, left_up, fill(sa::fill_mode::nearest, 0, interp)) ==
              std::vector<double>{23, 24, 24, 24, 24,  //
                                  33, 34, 34, 34, 34,  //
                                  33, 34, 34, 34, 34,  //
                                  33, 34, 34, 34, 34});
    }
}

TEST_CASE("shifts of a 3-channel image move whole pixels and fill every channel") {
    // 2x3 pixels, value 100 * channel + 10 * row + col.
    std::vector<float> in;
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 3; ++c)
            for (int ch = 0; ch < 3; ++ch) in.push_back(float(100 * ch + 10 * r + c));
    const sa::image_shape s{2, 3, 3};
    CHECK(warped(in, s, sa::affine::shift(1, 0), fill(sa::fill_mode::constant, 7)) ==
          std::vector<float>{7, 7, 7, 0, 100, 200, 1, 101, 201,  //
                             7, 7, 7, 10, 110, 210, 11, 111, 211});
    CHECK(warped(in, s, sa::affine::shift(0, 1), fill(sa::fill_mode::reflect)) ==
          std::vector<float>{0, 100, 200, 1, 101, 201, 2, 102, 202,  //
                             0, 100, 200, 1, 101, 201, 2, 102, 202});
    CHECK(warped(in, s, sa::affine::shift(-1, 0), fill(sa::fill_mode::wrap)) ==
          std::vector<float>{1, 101, 201, 2, 102, 202, 0, 100, 200,  //
                             11, 111, 211, 12, 112, 212, 10, 110, 210});
}

TEST_CASE_TEMPLATE("half-pixel shifts blend neighbours by hand-computed weights in every fill mode", T, float,
                   double) {
    const std::vector<T> in{1, 2,  4,  //
                            8, 16, 32};
    const sa::image_shape s{2, 3, 1};
    const auto right = sa::affine::shift(0.5, 0), left = sa::affine::shift(-0.5, 0);
    // out(c) = (in(c - 1/2 - 1/2) + in(c)) / 2 with in(-1) from the fill mode.
    CHECK(warped(in, s, right, fill(sa::fill_mode::nearest)) == std::vector<T>{1, 1.5, 3, 8, 12, 24});
    CHECK(warped(in, s, right, fill(sa::fill_mode::constant, 2)) == std::vector<T>{1.5, 1.5, 3, 5, 12, 24});
    CHECK(warped(in, s, right, fill(sa::fill_mode::reflect)) == std::vector<T>{1, 1.5, 3, 8, 12, 24});
    CHECK(warped(in, s, right, fill(sa::fill_mode::wrap)) == std::vector<T>{2.5, 1.5, 3, 20, 12, 24});
    // out(c) = (in(c) + in(c + 1)) / 2 with in(3) from the fill mode.
    CHECK(warped(in, s, left, fill(sa::fill_mode::nearest)) == std::vector<T>{1.5, 3, 4, 12, 24, 32});
    CHECK(warped(in, s, left, fill(sa::fill_mode::constant, 2)) == std::vector<T>{1.5, 3, 3, 12, 24, 17});
    CHECK(warped(in, s, left, fill(sa::fill_mode::reflect)) == std::vector<T>{1.5, 3, 4, 12, 24, 32});
    CHECK(warped(in, s, left, fill(sa::fill_mode::wrap)) == std::vector<T>{1.5, 3, 2.5, 12, 24, 20});
}

TEST_CASE("a shift of a quarter and a half pixel weighs four neighbours") {
    const std::vector<double> in{1, 2,  //
                                 3, 5};
    // out(r, c) = in(r - 0.5, c - 0.25), edges extended.
    const auto out = warped(in, {2, 2, 1}, sa::affine::shift(0.25, 0.5));
    CHECK(out[0] == doctest::Approx(1));
    CHECK(out[1] == doctest::Approx(0.25 * 1 + 0.75 * 2));
    CHECK(out[2] == doctest::Approx(0.5 * 1 + 0.5 * 3));
    CHECK(out[3] == doctest::Approx(0.125 * 1 + 0.375 * 2 + 0.125 * 3 + 0.375 * 5));
}

TEST_CASE("zoom about the centre samples at hand-computed points") {
    const std::vector<double> in{0, 2, 4,  //
                                 1, 9, 3,  //
                                 5, 6, 8};
    const sa::image_shape s{3, 3, 1};
    // Factor 0.5 (content twice as large): out(r, c) reads in(1 + (r - 1) / 2, 1 + (c - 1) / 2).
    CHECK(warped(in, s, sa::affine::zoom(0.5, 0.5)) == std::vector<double>{3, 5.5, 4.5,  //
                                                                           5, 9, 6,      //
                                                                           5.25, 7.5, 6.5});
    // Factor 2: every pixel but the centre reads from outside.
    CHECK(warped(in, s, sa::affine::zoom(2, 2), fill(sa::fill_mode::constant)) ==
          std::vector<double>{0, 0, 0, 0, 9, 0, 0, 0, 0});
    // Per axis: only columns stretch.
    CHECK(warped(in, s, sa::affine::zoom(0.5, 1)) == std::vector<double>{1, 2, 3,  //
                                                                         5, 9, 6,  //
                                                                         5.5, 6, 7});
}

TEST_CASE_TEMPLATE("a quarter turn is a transpose and a flip, exactly", T, float, double) {
    for (std::size_t n : {4, 5}) {  // centre between pixels, and on one
        constexpr std::size_t channels = 2;
        CAPTURE(n);
        const sa::image_shape s{n, n, channels};
        std::vector<T> in(s.size());
        st::rng r(3);
        for (auto& v : in) v = static_cast<T>(r.uniform(-1, 1));
        const auto at = [&](const std::vector<T>& x, std::size_t row, std::size_t col, std::size_t ch) {
            return x[(row * n + col) * channels + ch];
        };
        for (auto interp : {sa::interpolation::bilinear, sa::interpolation::nearest}) {
            CAPTURE(static_cast<int>(interp));
            const sa::sampling how{
                .interpolation = interp, .fill = sa::fill_mode::constant, .fill_value = 99};
            const auto ccw = warped(in, s, sa::affine::rotation(90), how);
            const auto cw = warped(in, s, sa::affine::rotation(-90), how);
            const auto half = warped(in, s, sa::affine::rotation(180), how);
            bool exact = true;
            for (std::size_t row = 0; row < n; ++row)
                for (std::size_t col = 0; col < n; ++col)
                    for (std::size_t ch = 0; ch < channels; ++ch) {
                        // Counter-clockwise: transpose, then flip top-bottom.
                        exact = exact && at(ccw, row, col, ch) == at(in, col, n - 1 - row, ch);
                        // Clockwise: transpose, then flip left-right.
                        exact = exact && at(cw, row, col, ch) == at(in, n - 1 - col, row, ch);
                        exact = exact && at(half, row, col, ch) == at(in, n - 1 - row, n - 1 - col, ch);
                    }
            CHECK(exact);
            CHECK(warped(in, s, sa::affine::rotation(360), how) == in);
        }
    }
}

TEST_CASE("flips mirror about the centre") {
    const auto in = ramp_4x5();
    CHECK(warped(in, shape_4x5, sa::affine::flip(true, false)) == std::vector<double>{4,  3,  2,  1,  0,   //
                                                                                      14, 13, 12, 11, 10,  //
                                                                                      24, 23, 22, 21, 20,  //
                                                                                      34, 33, 32, 31, 30});
    CHECK(warped(in, shape_4x5, sa::affine::flip(false, true)) == std::vector<double>{30, 31, 32, 33, 34,  //
                                                                                      20, 21, 22, 23, 24,  //
                                                                                      10, 11, 12, 13, 14,  //
                                                                                      0,  1,  2,  3,  4});
    CHECK(warped(in, shape_4x5, sa::affine::flip(true, true)) ==
          warped(in, shape_4x5, sa::affine::rotation(180)));
}

TEST_CASE("maps that move nothing reproduce the input exactly") {
    std::vector<float> in(6 * 7 * 3);
    st::rng r(8);
    for (auto& v : in) v = static_cast<float>(r.uniform(-5, 5));
    const sa::image_shape s{6, 7, 3};
    for (const auto& m : {sa::affine{}, sa::affine::rotation(0), sa::affine::shear(0), sa::affine::zoom(1, 1),
                          sa::affine::shift(0, 0), sa::affine::flip(false, false)}) {
        CHECK(m.is_identity());
        CHECK(warped(in, s, m) == in);
        CHECK(warped(in, s, m, fill(sa::fill_mode::constant, 3, sa::interpolation::nearest)) == in);
    }
    // Flipping twice or turning by 360 degrees rounds back to the identity.
    CHECK((sa::affine::flip(true, true) * sa::affine::flip(true, true)).is_identity());
    CHECK(warped(in, s, sa::affine::rotation(360)) == in);
}

TEST_CASE("maps compose in the order their operations happen") {
    // Shift right by 1, then turn a quarter counter-clockwise: the same as
    // turning first and then shifting up by 1.
    const auto m = sa::affine::shift(1, 0) * sa::affine::rotation(90);
    const auto expected = sa::affine::rotation(90) * sa::affine::shift(0, -1);
    CHECK(m.a == doctest::Approx(expected.a));
    CHECK(m.b == doctest::Approx(expected.b));
    CHECK(m.tx == doctest::Approx(expected.tx));
    CHECK(m.c == doctest::Approx(expected.c));
    CHECK(m.d == doctest::Approx(expected.d));
    CHECK(m.ty == doctest::Approx(expected.ty));
    // Keras' shear matrix: out(x, y) = in(cos(s) x, y - sin(s) x).
    const auto sh = sa::affine::shear(30);
    CHECK(sh.a == doctest::Approx(std::cos(std::numbers::pi / 6)));
    CHECK(sh.c == doctest::Approx(-0.5));
    CHECK(sh.d == 1);
    CHECK(sh.b == 0);
}

TEST_CASE("warp rejects an image with a zero dimension") {
    std::vector<float> x(4), y(4);
    CHECK_THROWS_WITH_AS(
        sa::warp(x.data(), y.data(), {2, 0, 2}, sa::affine{}),
        "augment::warp: image shape (2, 0, 2) has a zero dimension; expected height, width and "
        "channels >= 1",
        st::usage_error);
}
