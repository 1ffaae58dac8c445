// random_crop and cutout: whole-pixel moves and squares, by hand.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <strata/augment/region.hpp>
#include <support/images.hpp>

namespace st = strata;
namespace sa = strata::augment;

namespace {
using strata::testing::ramp_4x5;

// A seed whose first draw from `crop` is the wanted offset.
std::uint64_t seed_for(const sa::random_crop& crop, int dx, int dy) {
    for (std::uint64_t k = 0;; ++k) {
        st::rng r(k);
        const auto o = crop.draw(r);
        if (o.dx == dx && o.dy == dy) return k;
    }
}
}  // namespace

TEST_CASE("random_crop shifts whole pixels in place and pads with its fill value") {
    const sa::image_shape s{4, 5, 1};
    const sa::random_crop crop{2, -1};
    // Content right by 2 and down by 1: out(r, c) = in(r - 1, c - 2).
    auto x = ramp_4x5();
    st::rng r(seed_for(crop, 2, 1));
    crop.apply(x.data(), s, r);
    CHECK(x == std::vector<double>{-1, -1, -1, -1, -1,  //
                                   -1, -1, 0,  1,  2,   //
                                   -1, -1, 10, 11, 12,  //
                                   -1, -1, 20, 21, 22});
    // Left by 1 and up by 2: out(r, c) = in(r + 2, c + 1).
    x = ramp_4x5();
    st::rng up(seed_for(crop, -1, -2));
    crop.apply(x.data(), s, up);
    CHECK(x == std::vector<double>{21, 22, 23, 24, -1,  //
                                   31, 32, 33, 34, -1,  //
                                   -1, -1, -1, -1, -1,  //
                                   -1, -1, -1, -1, -1});
}

TEST_CASE("random_crop moves every channel of a pixel together and padding past the image blanks it") {
    // 2x2 pixels of 2 channels.
    std::vector<float> x{1, 2, 3, 4,  //
                         5, 6, 7, 8};
    const sa::random_crop crop{1};
    st::rng r(seed_for(crop, -1, 1));
    crop.apply(x.data(), {2, 2, 2}, r);
    CHECK(x == std::vector<float>{0, 0, 0, 0,  //
                                  3, 4, 0, 0});
    const sa::random_crop wide{3};
    std::vector<float> y(4, 1.f);
    st::rng far(seed_for(wide, 3, 0));
    wide.apply(y.data(), {2, 2, 1}, far);
    CHECK(y == std::vector<float>(4, 0.f));
}

TEST_CASE("random_crop offsets cover [-padding, padding] on both axes") {
    const sa::random_crop crop{4};
    std::set<std::pair<int, int>> seen;
    for (std::size_t i = 0; i < 2000; ++i) {
        st::rng r = sa::sample_stream(3, i, 0);
        const auto o = crop.draw(r);
        CHECK(std::abs(o.dx) <= 4);
        CHECK(std::abs(o.dy) <= 4);
        seen.insert({o.dx, o.dy});
    }
    CHECK(seen.size() == 81);
}

TEST_CASE("cutout blanks a square at the drawn centre, clipped at the borders") {
    const sa::image_shape s{4, 5, 1};
    const sa::cutout cut{3, 99};
    // Search seeds for a centre inside and one at a corner.
    auto run = [&](std::size_t row, std::size_t col) {
        for (std::uint64_t k = 0;; ++k) {
            st::rng probe(k);
            const auto c = cut.draw(probe, s);
            if (c.row != row || c.col != col) continue;
            auto x = ramp_4x5();
            st::rng r(k);
            cut.apply(x.data(), s, r);
            return x;
        }
    };
    // Size 3 about (1, 2): rows 0..2, columns 1..3.
    CHECK(run(1, 2) == std::vector<double>{0,  99, 99, 99, 4,   //
                                           10, 99, 99, 99, 14,  //
                                           20, 99, 99, 99, 24,  //
                                           30, 31, 32, 33, 34});
    // About (3, 4): rows 2..4 and columns 3..5 clip to rows 2..3, columns 3..4.
    CHECK(run(3, 4) == std::vector<double>{0,  1,  2,  3,  4,   //
                                           10, 11, 12, 13, 14,  //
                                           20, 21, 22, 99, 99,  //
                                           30, 31, 32, 99, 99});
    // An even size reaches one further before the centre than after it.
    const sa::cutout even{2};
    std::vector<double> x(4 * 5 * 2, 1);
    for (std::uint64_t k = 0;; ++k) {
        st::rng probe(k);
        const auto c = even.draw(probe, s);
        if (c.row != 0 || c.col != 0) continue;
        st::rng r(k);
        even.apply(x.data(), {4, 5, 2}, r);
        break;
    }
    std::vector<double> expected(40, 1);
    expected[0] = expected[1] = 0;  // rows and columns -1..0 clip to pixel (0, 0)
    CHECK(x == expected);
}

TEST_CASE("cutout centres cover the image") {
    const sa::image_shape s{6, 7, 1};
    const sa::cutout cut{4};
    std::set<std::pair<std::size_t, std::size_t>> seen;
    for (std::size_t i = 0; i < 2000; ++i) {
        st::rng r = sa::sample_stream(9, i, 0);
        const auto c = cut.draw(r, s);
        CHECK(c.row < 6);
        CHECK(c.col < 7);
        seen.insert({c.row, c.col});
    }
    CHECK(seen.size() == 42);
}

TEST_CASE("region transforms reject negative sizes") {
    CHECK_THROWS_WITH_AS(sa::random_crop{-1},
                         "augment::random_crop: padding must be a whole number of pixels >= 0, got -1",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::cutout{-4},
                         "augment::cutout: size must be a whole number of pixels >= 0, got -4",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::cutout(4, std::nan("")),
                         "augment::cutout: fill_value must be a finite number, got nan",
                         std::invalid_argument);
}
