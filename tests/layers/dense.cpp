#include <doctest/doctest.h>
#include <strata/layers/dense.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;
using st::testing::require_gradients_match;

TEST_CASE("dense forward is x W + b") {
    using L = st::dense<2>::bind<float, st::shape<3>>;
    L layer;
    // W is [input][unit]
    float p[L::param_count] = {1, 2, 3, 4, 5, 6, 0.5f, -1};
    layer.bind_parameters(p);
    const float x[3] = {1, -1, 2};
    float out[2];
    layer.forward(x, out, 1, {});
    CHECK(out[0] == doctest::Approx(1 - 3 + 10 + 0.5));
    CHECK(out[1] == doctest::Approx(2 - 4 + 12 - 1));
}

TEST_CASE("dense backward matches finite differences") {
    SUBCASE("identity") { require_gradients_match<st::dense<7>, st::shape<5>>(3); }
    SUBCASE("relu") { require_gradients_match<st::dense<33, st::relu>, st::shape<20>>(4); }
    SUBCASE("sigmoid, no bias") {
        require_gradients_match<st::dense<4, st::sigmoid, st::no_bias>, st::shape<9>>(2);
    }
    SUBCASE("softmax") { require_gradients_match<st::dense<6, st::softmax>, st::shape<8>>(3); }
    SUBCASE("large enough for several GEMM blocks") {
        require_gradients_match<st::dense<40, st::tanh>, st::shape<300>>(17);
    }
    SUBCASE("large enough to read W in place for the input gradient (din^T = W dout^T)") {
        static_assert(st::dense<24, st::tanh>::bind<double, st::shape<700>>::gradient_reads_weights_in_place);
        require_gradients_match<st::dense<24, st::tanh>, st::shape<700>>(16);
        require_gradients_match<st::dense<24, st::tanh>, st::shape<700>>(5);  // dout^T padded to whole tiles
    }
}

TEST_CASE("glorot uniform keeps weights within its limit") {
    using L = st::dense<50>::bind<float, st::shape<100>>;
    std::vector<float> p(L::param_count);
    L layer;
    layer.bind_parameters(p.data());
    st::rng r(1);
    layer.initialize(r);
    const double limit = std::sqrt(6.0 / 150);
    double sum_sq = 0;
    for (std::size_t i = 0; i < L::weight_count; ++i) {
        CHECK(std::abs(p[i]) <= limit);
        sum_sq += double(p[i]) * p[i];
    }
    // Variance of U(-a, a) is a^2 / 3.
    CHECK(sum_sq / L::weight_count == doctest::Approx(limit * limit / 3).epsilon(0.05));
}

TEST_CASE("he normal has the variance 2 / fan_in") {
    using L = st::dense<100, st::relu, st::init::he_normal>::bind<double, st::shape<200>>;
    std::vector<double> p(L::param_count);
    L layer;
    layer.bind_parameters(p.data());
    st::rng r(2);
    layer.initialize(r);
    double mean = 0, sum_sq = 0;
    for (std::size_t i = 0; i < L::weight_count; ++i) {
        mean += p[i];
        sum_sq += p[i] * p[i];
    }
    mean /= L::weight_count;
    CHECK(std::abs(mean) < 0.003);
    CHECK(sum_sq / L::weight_count == doctest::Approx(2.0 / 200).epsilon(0.03));
}
