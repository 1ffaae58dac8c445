// Rescale, brightness and contrast against their formulas.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <doctest/doctest.h>
#include <strata/augment/photometric.hpp>

namespace st = strata;
namespace sa = strata::augment;

namespace {
template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed) {
    std::vector<T> x(n);
    st::rng r(seed);
    for (auto& v : x) v = static_cast<T>(r.uniform(-2, 3));
    return x;
}
}  // namespace

TEST_CASE_TEMPLATE("rescale multiplies every value", T, float, double) {
    // 37 values: whole SIMD vectors and a scalar tail.
    const sa::image_shape s{37, 1, 1};
    const auto in = random_values<T>(s.size(), 1);
    auto x = in;
    st::rng r(0);
    sa::rescale{1.0 / 255}.apply(x.data(), s, r);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(x[i] == in[i] * static_cast<T>(1.0 / 255));
}

TEST_CASE_TEMPLATE("brightness adds one delta per sample to every channel", T, float, double) {
    const sa::image_shape s{3, 7, 3};
    const auto in = random_values<T>(s.size(), 2);
    const sa::random_brightness brightness{0.4};
    for (std::uint64_t k = 0; k < 5; ++k) {
        st::rng r(k), same(k);
        const double delta = brightness.draw(same);
        CHECK(std::abs(delta) <= 0.4);
        auto x = in;
        brightness.apply(x.data(), s, r);
        for (std::size_t i = 0; i < x.size(); ++i) CHECK(x[i] == in[i] + static_cast<T>(delta));
    }
}

TEST_CASE_TEMPLATE("contrast scales each channel about its own mean", T, float, double) {
    const sa::image_shape s{2, 2, 3};
    // Channel c of pixel p holds 10 c + p^2, so channel c's mean is 10 c + 3.5.
    std::vector<T> in;
    for (int p = 0; p < 4; ++p)
        for (int c = 0; c < 3; ++c) in.push_back(static_cast<T>(10 * c + p * p));
    const sa::random_contrast contrast{0.5, 1.5};
    for (std::uint64_t k = 0; k < 5; ++k) {
        st::rng r(k), same(k);
        const double f = contrast.draw(same);
        CHECK(f >= 0.5);
        CHECK(f <= 1.5);
        auto x = in;
        contrast.apply(x.data(), s, r);
        for (int p = 0; p < 4; ++p)
            for (int c = 0; c < 3; ++c) {
                const double mean = 10 * c + 3.5;
                CHECK(x[p * 3 + c] == doctest::Approx((10 * c + p * p - mean) * f + mean).epsilon(1e-6));
            }
    }
    // One channel runs through the SIMD path: 0, 1, 0, 1, ... (17 ones in 35).
    const sa::image_shape flat{5, 7, 1};
    std::vector<T> y(flat.size());
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<T>(i % 2);
    const double mean = 17.0 / 35;
    st::rng r(3), same(3);
    const double f = contrast.draw(same);
    contrast.apply(y.data(), flat, r);
    for (std::size_t i = 0; i < y.size(); ++i)
        CHECK(y[i] == doctest::Approx((double(i % 2) - mean) * f + mean).epsilon(1e-6));
}

TEST_CASE("brightness deltas and contrast factors cover their ranges") {
    const sa::random_brightness brightness{0.3};
    const sa::random_contrast contrast{0.2, 1.8};
    std::vector<double> deltas, factors;
    for (std::size_t i = 0; i < 2000; ++i) {
        st::rng r = sa::sample_stream(7, i, 0);
        deltas.push_back(brightness.draw(r));
        factors.push_back(contrast.draw(r));
    }
    const auto [dmin, dmax] = std::minmax_element(deltas.begin(), deltas.end());
    CHECK(*dmin >= -0.3);
    CHECK(*dmax <= 0.3);
    CHECK(*dmin < -0.29);
    CHECK(*dmax > 0.29);
    const auto [fmin, fmax] = std::minmax_element(factors.begin(), factors.end());
    CHECK(*fmin >= 0.2);
    CHECK(*fmax <= 1.8);
    CHECK(*fmin < 0.21);
    CHECK(*fmax > 1.79);
}

TEST_CASE("photometric transforms reject bad parameters") {
    CHECK_THROWS_WITH_AS(sa::rescale{std::numeric_limits<double>::infinity()},
                         "augment::rescale: factor must be a finite number, got inf", std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::random_brightness{-0.1},
                         "augment::random_brightness: max_delta must be a finite number >= 0, got -0.1",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::random_contrast(-1, 2),
                         "augment::random_contrast: lower must be a finite number >= 0, got -1",
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::random_contrast(1.5, 0.5),
                         "augment::random_contrast: upper must be finite and >= lower, got 0.5",
                         std::invalid_argument);
}
