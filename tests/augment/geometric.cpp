// Geometric transforms: drawn parameters, their ranges, and their checks.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <strata/augment/augment.hpp>

namespace st = strata;
namespace sa = strata::augment;

namespace {
constexpr std::size_t draws = 2000;
constexpr std::uint64_t seed = 12;

// Draws as the pipeline does: sample i's own stream for element 0.
template <class F>
auto draw_all(F draw) {
    std::vector<decltype(draw(std::declval<st::rng&>()))> out;
    for (std::size_t i = 0; i < draws; ++i) {
        st::rng r = sa::sample_stream(seed, i, 0);
        out.push_back(draw(r));
    }
    return out;
}

// Every value inside [lo, hi] and both ends approached within `near`.
void check_covers(const std::vector<double>& v, double lo, double hi, double near) {
    const auto [min, max] = std::minmax_element(v.begin(), v.end());
    CHECK(*min >= lo);
    CHECK(*max <= hi);
    CHECK(*min < lo + near);
    CHECK(*max > hi - near);
}
}  // namespace

TEST_CASE("rotation and shear angles stay inside and cover their ranges") {
    const sa::random_rotation rotation{30};
    check_covers(draw_all([&](st::rng& r) { return rotation.draw(r); }), -30, 30, 0.3);
    const sa::random_shear shear{20};
    check_covers(draw_all([&](st::rng& r) { return shear.draw(r); }), -20, 20, 0.2);
}

TEST_CASE("shifts are fractions of the image size, or whole pixels") {
    const sa::image_shape s{28, 32, 1};
    const sa::random_shift fraction{0.1, 0.25};
    const auto amounts = draw_all([&](st::rng& r) { return fraction.draw(r, s); });
    std::vector<double> dx, dy;
    for (const auto& a : amounts) {
        dx.push_back(a.dx);
        dy.push_back(a.dy);
    }
    check_covers(dx, -3.2, 3.2, 0.05);
    check_covers(dy, -7, 7, 0.1);
    CHECK(sa::random_shift{0.2}.height() == 0.2);  // one fraction for both axes

    const auto pixels = sa::random_shift::pixels(2, 3);
    CHECK(pixels.in_pixels());
    std::set<double> xs, ys;
    for (const auto& a : draw_all([&](st::rng& r) { return pixels.draw(r, s); })) {
        xs.insert(a.dx);
        ys.insert(a.dy);
    }
    CHECK(xs == std::set<double>{-2, -1, 0, 1, 2});
    CHECK(ys == std::set<double>{-3, -2, -1, 0, 1, 2, 3});
}

TEST_CASE("zoom factors follow Keras' [1 - range, 1 + range], shared or per axis") {
    const sa::random_zoom same{0.2};
    std::vector<double> f;
    bool equal = true;
    for (const auto& z : draw_all([&](st::rng& r) { return same.draw(r); })) {
        f.push_back(z.x);
        equal = equal && z.x == z.y;
    }
    CHECK(equal);
    check_covers(f, 0.8, 1.2, 0.005);

    const sa::random_zoom per_axis{0.1, 0.3};
    std::vector<double> fx, fy;
    for (const auto& z : draw_all([&](st::rng& r) { return per_axis.draw(r); })) {
        fx.push_back(z.x);
        fy.push_back(z.y);
    }
    check_covers(fx, 0.9, 1.1, 0.003);
    check_covers(fy, 0.7, 1.3, 0.01);
}

TEST_CASE("flips happen with their probability") {
    const auto count = [](const auto& flip) {
        const auto v = draw_all([&](st::rng& r) { return flip.draw(r); });
        return std::count(v.begin(), v.end(), true);
    };
    // Binomial(2000, p): four standard deviations either side.
    CHECK(std::abs(count(sa::horizontal_flip{}) - 1000) < 90);
    CHECK(std::abs(count(sa::vertical_flip{}) - 1000) < 90);
    CHECK(std::abs(count(sa::horizontal_flip{0.2}) - 400) < 72);
    CHECK(count(sa::vertical_flip{0}) == 0);
    CHECK(count(sa::horizontal_flip{1}) == long(draws));
}

TEST_CASE("zero ranges are the identity, exactly") {
    std::vector<float> in(5 * 6 * 3), out(in.size());
    st::rng r(2);
    for (auto& v : in) v = static_cast<float>(r.uniform(-1, 1));
    const sa::image_shape s{5, 6, 3};
    const sa::pipeline p{sa::random_rotation{0}, sa::random_shift{0},    sa::random_shear{0},
                         sa::random_zoom{0},     sa::horizontal_flip{0}, sa::vertical_flip{0}};
    p.apply(in.data(), out.data(), 1, s, 4, 0);
    CHECK(out == in);
}

TEST_CASE("flips through the pipeline mirror the image") {
    const std::vector<double> in{1, 2, 3,  //
                                 4, 5, 6};
    std::vector<double> out(6);
    sa::pipeline{sa::horizontal_flip{1}}.apply(in.data(), out.data(), 1, {2, 3, 1}, 0, 0);
    CHECK(out == std::vector<double>{3, 2, 1, 6, 5, 4});
    sa::pipeline{sa::vertical_flip{1}}.apply(in.data(), out.data(), 1, {2, 3, 1}, 0, 0);
    CHECK(out == std::vector<double>{4, 5, 6, 1, 2, 3});
}

TEST_CASE("a geometric transform's map is the map of its drawn parameters") {
    const sa::image_shape s{8, 10, 1};
    st::rng a(5), b(5);
    const sa::random_rotation rotation{45};
    const auto m = rotation.map(a, s), expected = sa::affine::rotation(rotation.draw(b));
    CHECK(m.a == expected.a);
    CHECK(m.b == expected.b);
    const sa::random_shift shift{0.3};
    const auto t = shift.map(a, s);
    const auto amount = shift.draw(b, s);
    CHECK(t.tx == -amount.dx);
    CHECK(t.ty == -amount.dy);
}

TEST_CASE("geometric transforms reject bad ranges with the transform, the parameter and what was expected") {
    CHECK_THROWS_WITH_AS(sa::random_rotation{-5},
                         "augment::random_rotation: degrees must be in [0, 180], got -5",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::random_rotation{std::nan("")},
                         "augment::random_rotation: degrees must be in [0, 180], got nan",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::random_shift(0.1, 1.5),
                         "augment::random_shift: height must be a fraction of the image size in [0, 1] "
                         "(random_shift::pixels takes pixels), got 1.5",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::random_shift{-0.1},
                         "augment::random_shift: width must be a fraction of the image size in [0, 1] "
                         "(random_shift::pixels takes pixels), got -0.1",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::random_shift::pixels(2, -1),
                         "augment::random_shift::pixels: dy must be a whole number of pixels >= 0, got -1",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::random_shear{90}, "augment::random_shear: degrees must be in [0, 90), got 90",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        sa::random_zoom{1},
        "augment::random_zoom: range must be in [0, 1), so that the smallest zoom factor 1 - "
        "range stays above 0, got 1",
        std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        sa::random_zoom(0.1, -0.2),
        "augment::random_zoom: y_range must be in [0, 1), so that the smallest zoom factor 1 - "
        "range stays above 0, got -0.2",
        std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::horizontal_flip{1.5},
                         "augment::horizontal_flip: probability must be in [0, 1], got 1.5",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::vertical_flip{-0.5},
                         "augment::vertical_flip: probability must be in [0, 1], got -0.5",
                         std::invalid_argument);
}
