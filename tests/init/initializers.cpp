#include <algorithm>
#include <cmath>
#include <vector>

#include <doctest/doctest.h>
#include <strata/init/initializers.hpp>
#include <strata/layers/dense.hpp>
#include <strata/model/sequential.hpp>

namespace st = strata;
namespace init = strata::init;

static_assert(st::initializer<init::glorot_uniform> && st::initializer<init::glorot_normal>);
static_assert(st::initializer<init::he_uniform> && st::initializer<init::he_normal>);
static_assert(st::initializer<init::lecun_uniform> && st::initializer<init::lecun_normal, double>);
static_assert(st::initializer<init::zeros> && st::initializer<init::constant<-1.5>>);
static_assert(st::detail::check_initializer<init::constant<1>, double>());
static_assert(!st::initializer<int> && !st::initializer<st::use_bias>);

namespace {

constexpr std::size_t fan_in = 300, fan_out = 100, samples = 200'000;

struct moments {
    double mean, variance, variance_standard_error, min, max;
};

template <class Init, class T>
std::vector<T> fill(std::uint64_t seed) {
    std::vector<T> w(samples);
    st::rng r(seed);
    Init::fill(w.data(), w.size(), fan_in, fan_out, r);
    return w;
}

template <class T>
moments measure(const std::vector<T>& w) {
    const double n = static_cast<double>(w.size());
    double sum = 0;
    for (T x : w) sum += x;
    const double mean = sum / n;
    double m2 = 0, m4 = 0;
    for (T x : w) {
        const double d = x - mean, d2 = d * d;
        m2 += d2;
        m4 += d2 * d2;
    }
    m2 /= n;
    m4 /= n;
    const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
    // The sample variance's standard error from the sample's own fourth moment,
    // which serves uniform and normal alike.
    return {mean, m2, std::sqrt((m4 - m2 * m2) / n), double(*lo), double(*hi)};
}

// Mean and variance within 5 standard errors of the formula; uniform
// initializers also stay within sqrt(3 variance).
template <class Init, class T>
void check_distribution(double variance, bool uniform) {
    const auto w = fill<Init, T>(2024);
    const moments m = measure(w);
    CHECK(std::abs(m.mean) < 5 * std::sqrt(variance / samples));
    CHECK(std::abs(m.variance - variance) < 5 * m.variance_standard_error);
    if (uniform) {
        const double limit = std::sqrt(3 * variance);
        CHECK(m.min >= -limit);
        CHECK(m.max <= limit);
        CHECK(m.max > 0.99 * limit);  // the range is used, not a narrower one
        CHECK(m.min < -0.99 * limit);
    } else {
        CHECK(m.max > 3.5 * std::sqrt(variance));  // untruncated: ~46 of 200k draws lie beyond 3.5 sigma
    }
    CHECK(fill<Init, T>(2024) == w);
    CHECK(fill<Init, T>(2025) != w);
}

// Records what it was asked for, so the test sees the layer's fan-in and fan-out.
struct ramp {
    using option_kind = st::initializer_option_kind;
    static constexpr const char* name = "ramp";
    template <class T>
    static void fill(T* w, std::size_t count, std::size_t in, std::size_t out, st::rng&) {
        for (std::size_t i = 0; i < count; ++i) w[i] = static_cast<T>(i) + T(in) / T(out);
    }
};
static_assert(st::initializer<ramp> && st::detail::check_initializer<ramp>());

}  // namespace

TEST_CASE_TEMPLATE("random initializers match their mean and variance", T, float, double) {
    constexpr double in = fan_in, out = fan_out;
    SUBCASE("glorot_uniform") { check_distribution<init::glorot_uniform, T>(2 / (in + out), true); }
    SUBCASE("glorot_normal") { check_distribution<init::glorot_normal, T>(2 / (in + out), false); }
    SUBCASE("he_uniform") { check_distribution<init::he_uniform, T>(2 / in, true); }
    SUBCASE("he_normal") { check_distribution<init::he_normal, T>(2 / in, false); }
    SUBCASE("lecun_uniform") { check_distribution<init::lecun_uniform, T>(1 / in, true); }
    SUBCASE("lecun_normal") { check_distribution<init::lecun_normal, T>(1 / in, false); }
}

TEST_CASE("constant and zeros fill every weight with their value") {
    std::vector<float> w(37, -1.0f);
    st::rng r(1);
    init::constant<0.25>::fill(w.data(), w.size(), 3, 5, r);
    for (float x : w) CHECK(x == 0.25f);
    init::constant<-3>::fill(w.data(), w.size(), 3, 5, r);
    for (float x : w) CHECK(x == -3.0f);
    init::zeros::fill(w.data(), w.size(), 3, 5, r);
    for (float x : w) CHECK(x == 0.0f);
    CHECK(init::constant<0.25>::value == 0.25);
}

TEST_CASE("a user-defined initializer fills a dense layer's weights") {
    st::sequential<st::input<4>, st::dense<8, st::identity, ramp>> net{st::seed{3}};
    const auto p = net.layer_parameters<0>();
    REQUIRE(p.size() == 4 * 8 + 8);
    for (std::size_t i = 0; i < 32; ++i) CHECK(p[i] == static_cast<float>(i) + 0.5f);  // fan 4 -> 8
    for (std::size_t i = 32; i < p.size(); ++i) CHECK(p[i] == 0.0f);                   // biases
}

TEST_CASE("a constant initializer as a layer option") {
    st::sequential<st::input<3>, st::dense<2, st::identity, init::constant<0.5>, st::no_bias>> net;
    for (float x : net.layer_parameters<0>()) CHECK(x == 0.5f);
}
