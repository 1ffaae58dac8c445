#include <cmath>
#include <vector>

#include <doctest/doctest.h>
#include <strata/optim/adam.hpp>
#include <strata/optim/sgd.hpp>

namespace st = strata;

// 37 parameters cover full SIMD vectors and the scalar tail; every one gets
// the same hand-computed update.
constexpr std::size_t count = 37;

TEST_CASE_TEMPLATE("plain SGD step", T, float, double) {
    const st::optim::sgd opt{.lr = 0.1};
    std::vector<T> p(count, T(1)), g(count, T(0.5));
    auto s = opt.make_state<T>(count);
    opt.step<T>(p, g, s);
    for (T v : p) CHECK(double(v) == doctest::Approx(0.95));
}

TEST_CASE_TEMPLATE("SGD with momentum and Nesterov over two steps", T, float, double) {
    const st::optim::sgd momentum{.lr = 0.1, .momentum = 0.9},
        nesterov{.lr = 0.1, .momentum = 0.9, .nesterov = true};
    std::vector<T> p(count, T(1)), q(count, T(1)), g1(count, T(0.5)), g2(count, T(-1));
    auto sm = momentum.make_state<T>(count);
    auto sn = nesterov.make_state<T>(count);
    momentum.step<T>(p, g1, sm);  // v = 0.5; p = 1 - 0.05 = 0.95
    momentum.step<T>(p, g2, sm);  // v = 0.45 - 1 = -0.55; p = 0.95 + 0.055 = 1.005
    nesterov.step<T>(q, g1, sn);  // v = 0.5; p = 1 - 0.1 (0.5 + 0.45) = 0.905
    nesterov.step<T>(q, g2, sn);  // v = -0.55; p = 0.905 - 0.1 (-1 - 0.495) = 1.0545
    for (std::size_t i = 0; i < count; ++i) {
        CHECK(double(p[i]) == doctest::Approx(1.005));
        CHECK(double(q[i]) == doctest::Approx(1.0545));
    }
}

TEST_CASE_TEMPLATE("Adam's first two steps with bias correction", T, float, double) {
    const st::optim::adam opt{.lr = 0.01};
    std::vector<T> p(count, T(1)), g1(count, T(0.2)), g2(count, T(-0.4));
    auto s = opt.make_state<T>(count);
    opt.step<T>(p, g1, s);
    // Step 1: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps).
    const double p1 = 1 - 0.01 * 0.2 / (0.2 + 1e-8);
    for (T v : p) CHECK(double(v) == doctest::Approx(p1).epsilon(1e-6));
    opt.step<T>(p, g2, s);
    const double m = 0.9 * 0.1 * 0.2 + 0.1 * -0.4;  // 0.9 m1 + 0.1 g2 with m1 = 0.1 * 0.2
    const double v = 0.999 * 0.001 * 0.04 + 0.001 * 0.16;
    const double m_hat = m / (1 - 0.81), v_hat = v / (1 - 0.999 * 0.999);
    const double p2 = p1 - 0.01 * m_hat / (std::sqrt(v_hat) + 1e-8);
    for (T x : p) CHECK(double(x) == doctest::Approx(p2).epsilon(1e-5));
    CHECK(s.steps == 2);
}

TEST_CASE("optimizers reject nonsense hyper-parameters") {
    CHECK_THROWS_AS((st::optim::sgd{.lr = -1}.make_state<float>(1)), std::invalid_argument);
    CHECK_THROWS_AS((st::optim::sgd{.lr = 0.1, .momentum = 1.5}.make_state<float>(1)), std::invalid_argument);
    CHECK_THROWS_AS((st::optim::sgd{.lr = 0.1, .nesterov = true}.make_state<float>(1)),
                    std::invalid_argument);
    CHECK_THROWS_AS((st::optim::adam{.lr = 0}.make_state<float>(1)), std::invalid_argument);
    CHECK_THROWS_AS((st::optim::adam{.beta1 = 1.0}.make_state<float>(1)), std::invalid_argument);
    static_assert(st::optimizer<st::optim::adam, float>);
    static_assert(st::optimizer<st::optim::sgd, double>);
}
