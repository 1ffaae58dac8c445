#include <cmath>

#include <doctest/doctest.h>
#include <strata/layers/activation.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;
using st::testing::require_gradients_match;

TEST_CASE_TEMPLATE("activation values match their formulas, SIMD and scalar alike", T, float, double) {
    // 37 values: several full vectors plus a scalar tail, through -8..8.
    std::vector<T> x(37), y(37);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = T(-8.0 + 16.0 * double(i) / 36.0);
    auto check = [&](auto activation, auto formula) {
        y = x;
        decltype(activation)::forward_inplace(y.data(), y.size(), y.size());
        for (std::size_t i = 0; i < x.size(); ++i) {
            INFO(decltype(activation)::name << "(" << x[i] << ")");
            CHECK(double(y[i]) == doctest::Approx(formula(double(x[i]))).epsilon(1e-6));
        }
    };
    check(st::relu{}, [](double v) { return v > 0 ? v : 0.0; });
    check(st::leaky_relu{}, [](double v) { return v > 0 ? v : 0.01 * v; });
    check(st::basic_leaky_relu<0.3>{}, [](double v) { return v > 0 ? v : 0.3 * v; });
    check(st::elu{}, [](double v) { return v > 0 ? v : std::exp(v) - 1; });
    check(st::sigmoid{}, [](double v) { return 1 / (1 + std::exp(-v)); });
    check(st::tanh{}, [](double v) { return std::tanh(v); });
    check(st::identity{}, [](double v) { return v; });
}

TEST_CASE("sigmoid and elu stay finite for extreme inputs") {
    float x[4] = {-1000, -100, 100, 1000};
    st::sigmoid::forward_inplace(x, 4, 4);
    CHECK(x[0] == 0.0f);
    CHECK(x[3] == 1.0f);
    float e[2] = {-1000, 1000};
    st::elu::forward_inplace(e, 2, 2);
    CHECK(e[0] == doctest::Approx(-1.0));
    CHECK(e[1] == 1000.0f);
}

TEST_CASE("softmax normalises each row over the last axis and is shift-invariant") {
    float x[6] = {1, 2, 3, 1001, 1002, 1003};
    st::softmax::forward_inplace(x, 6, 3);
    const double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), s = e1 + e2 + e3;
    CHECK(x[0] == doctest::Approx(e1 / s));
    CHECK(x[2] == doctest::Approx(e3 / s));
    CHECK(x[3] == doctest::Approx(e1 / s));
    CHECK(x[5] == doctest::Approx(e3 / s));
}

TEST_CASE("activation layers' backward matches finite differences") {
    SUBCASE("relu") { require_gradients_match<st::relu, st::shape<4, 4, 3>>(); }
    SUBCASE("leaky_relu") { require_gradients_match<st::leaky_relu, st::shape<37>>(); }
    SUBCASE("elu") { require_gradients_match<st::elu, st::shape<3, 3, 5>>(); }
    SUBCASE("sigmoid") { require_gradients_match<st::sigmoid, st::shape<21>>(); }
    SUBCASE("tanh") { require_gradients_match<st::tanh, st::shape<2, 5, 3>>(); }
    SUBCASE("softmax over a vector") { require_gradients_match<st::softmax, st::shape<10>>(3); }
    SUBCASE("softmax over channels of an image") {
        require_gradients_match<st::softmax, st::shape<2, 3, 4>>(2);
    }
}
