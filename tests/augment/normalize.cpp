// Feature-wise and sample-wise standardisation, Keras' formulas.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <vector>

#include <doctest/doctest.h>
#include <strata/augment/normalize.hpp>
#include <strata/augment/pipeline.hpp>

namespace st = strata;
namespace sa = strata::augment;

TEST_CASE("feature_normalization fits per-channel mean and population std") {
    // Two 1x2 samples of 2 channels: channel 0 holds 1, 3, 5, 7 and channel 1 holds 10, 20, 30, 40.
    st::data::dataset<double> d;
    d.x = xt::xtensor<double, 4>::from_shape({2, 1, 2, 2});
    d.y = xt::xtensor<double, 2>::from_shape({2, 1});
    const double values[] = {1, 10, 3, 20, 5, 30, 7, 40};
    std::copy(std::begin(values), std::end(values), d.x.data());
    sa::feature_normalization norm;
    CHECK(!norm.fitted());
    norm.fit(d);
    REQUIRE(norm.fitted());
    CHECK(norm.mean() == std::vector<double>{4, 25});
    CHECK(norm.stddev()[0] == doctest::Approx(std::sqrt(5.0)));
    CHECK(norm.stddev()[1] == doctest::Approx(std::sqrt(125.0)));

    std::vector<double> x(values, values + 4);
    st::rng r(0);
    norm.apply(x.data(), {1, 2, 2}, r);
    const double s0 = std::sqrt(5.0) + 1e-6, s1 = std::sqrt(125.0) + 1e-6;
    CHECK(x[0] == doctest::Approx((1 - 4) / s0));
    CHECK(x[1] == doctest::Approx((10 - 25) / s1));
    CHECK(x[2] == doctest::Approx((3 - 4) / s0));
    CHECK(x[3] == doctest::Approx((20 - 25) / s1));

    // Only one half of the formula when asked.
    sa::feature_normalization center_only{{.center = true, .scale = false}};
    center_only.fit(d);
    std::vector<double> y(values, values + 4);
    center_only.apply(y.data(), {1, 2, 2}, r);
    CHECK(y == std::vector<double>{-3, -15, -1, -5});
    const sa::feature_normalization scale_only({4, 25}, {1, 4}, {.center = false, .scale = true});
    y.assign(values, values + 4);
    scale_only.apply(y.data(), {1, 2, 2}, r);
    CHECK(y[0] == doctest::Approx(1 / (1 + 1e-6)));
    CHECK(y[1] == doctest::Approx(10 / (4 + 1e-6)));
}

TEST_CASE_TEMPLATE("feature-wise normalization gives mean 0 and std 1 per channel on its training data", T,
                   float, double) {
    constexpr std::size_t n = 40, h = 6, w = 5, c = 3;
    st::data::dataset<T> d;
    d.x = xt::xtensor<T, 4>::from_shape({n, h, w, c});
    d.y = xt::xtensor<T, 2>::from_shape({n, 1});
    st::rng r(21);
    const double lo[] = {0, -3, 100}, hi[] = {255, -1, 100.5};
    for (std::size_t i = 0; i < n * h * w; ++i)
        for (std::size_t ch = 0; ch < c; ++ch)
            d.x.data()[i * c + ch] = static_cast<T>(r.uniform(lo[ch], hi[ch]));
    sa::feature_normalization norm;
    norm.fit(d);
    std::vector<T> out(d.x.size());
    sa::pipeline{norm}.apply(d.x.data(), out.data(), n, {h, w, c}, 0, 0);
    for (std::size_t ch = 0; ch < c; ++ch) {
        CAPTURE(ch);
        double sum = 0, squares = 0;
        for (std::size_t i = 0; i < n * h * w; ++i) sum += out[i * c + ch];
        const double mean = sum / (n * h * w);
        for (std::size_t i = 0; i < n * h * w; ++i)
            squares += (out[i * c + ch] - mean) * (out[i * c + ch] - mean);
        CHECK(std::abs(mean) < 1e-5);
        CHECK(std::sqrt(squares / (n * h * w)) == doctest::Approx(1).epsilon(1e-5));
    }
}

TEST_CASE("feature_normalization says what is missing or mismatched") {
    std::vector<float> x(12);
    st::rng r(0);
    CHECK_THROWS_WITH_AS(sa::feature_normalization{}.apply(x.data(), {2, 2, 3}, r),
                         "augment::feature_normalization: no statistics: call fit(training data) first, or "
                         "construct it with the mean and stddev",
                         st::usage_error);
    const sa::feature_normalization gray({0.5}, {0.2});
    CHECK_THROWS_WITH_AS(gray.apply(x.data(), {2, 2, 3}, r),
                         "augment::feature_normalization: fitted on 1 channels, but the images have 3",
                         st::usage_error);
    CHECK_THROWS_WITH_AS(
        sa::feature_normalization({0, 0}, {1}),
        "augment::feature_normalization: mean and stddev must hold one value per channel, got 2 "
        "and 1",
        std::invalid_argument);
    CHECK_THROWS_WITH_AS(sa::feature_normalization({0}, {-1}),
                         "augment::feature_normalization: stddev must be a finite number >= 0, got -1",
                         std::invalid_argument);
    sa::feature_normalization norm;
    CHECK_THROWS_WITH_AS(norm.fit(x.data(), 0, {2, 2, 3}),
                         "augment::feature_normalization::fit: no samples to fit on", st::usage_error);
}

TEST_CASE_TEMPLATE("sample-wise normalization standardises each sample with its own statistics", T, float,
                   double) {
    // Two 2x2x1 samples: 1, 2, 3, 4 (mean 2.5, std sqrt(1.25)) and a constant 7.
    std::vector<T> x{1, 2, 3, 4, 7, 7, 7, 7};
    sa::pipeline{sa::samplewise_normalization{}}.apply(x.data(), x.data(), 2, {2, 2, 1}, 0, 0);
    const double s = std::sqrt(1.25) + 1e-6;
    for (int i = 0; i < 4; ++i) CHECK(x[i] == doctest::Approx((i + 1 - 2.5) / s));
    for (int i = 4; i < 8; ++i) CHECK(x[i] == 0);  // the epsilon keeps a constant sample finite

    std::vector<T> y{1, 2, 3, 4};
    st::rng r(0);
    sa::samplewise_normalization{{.center = true, .scale = false}}.apply(y.data(), {1, 4, 1}, r);
    CHECK(y == std::vector<T>{-1.5, -0.5, 0.5, 1.5});
}
