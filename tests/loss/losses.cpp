#include <cmath>
#include <vector>

#include <doctest/doctest.h>
#include <strata/loss/binary_crossentropy.hpp>
#include <strata/loss/cross_entropy.hpp>
#include <strata/loss/mean_squared_error.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;
using st::testing::relative_error;

namespace {
// Central differences of evaluate() with respect to each prediction.
template <class Loss>
void require_gradient_matches(const Loss& loss, std::vector<double> pred, const std::vector<double>& y,
                              std::size_t n, std::size_t outputs) {
    std::vector<double> grad(pred.size());
    loss.evaluate(pred.data(), y.data(), n, outputs, grad.data(), 1.0);
    for (std::size_t i = 0; i < pred.size(); ++i) {
        const double saved = pred[i];
        pred[i] = saved + 1e-6;
        const double up =
            loss.evaluate(pred.data(), y.data(), n, outputs, static_cast<double*>(nullptr), 1.0);
        pred[i] = saved - 1e-6;
        const double down =
            loss.evaluate(pred.data(), y.data(), n, outputs, static_cast<double*>(nullptr), 1.0);
        pred[i] = saved;
        INFO(Loss::name << " prediction " << i);
        CHECK(relative_error(grad[i], (up - down) / 2e-6) < 1e-7);
    }
}
}  // namespace

TEST_CASE("sparse categorical cross-entropy from logits against hand-computed values") {
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    // logits (1, 2, 3), label 2: log(e + e^2 + e^3) - 3.
    const std::vector<double> z = {1, 2, 3, 0, 0, 0}, y = {2, 0};
    const double expected = std::log(std::exp(1) + std::exp(2) + std::exp(3)) - 3 + std::log(3.0);
    CHECK(loss.evaluate(z.data(), y.data(), 2, 3, static_cast<double*>(nullptr), 1.0) ==
          doctest::Approx(expected));
    std::vector<double> g(6);
    loss.evaluate(z.data(), y.data(), 2, 3, g.data(), 0.5);
    const double s = std::exp(1) + std::exp(2) + std::exp(3);
    CHECK(g[0] == doctest::Approx(0.5 * std::exp(1) / s));
    CHECK(g[2] == doctest::Approx(0.5 * (std::exp(3) / s - 1)));
    CHECK(g[3] == doctest::Approx(0.5 * (1.0 / 3 - 1)));
    CHECK(loss.accuracy_sum(z.data(), y.data(), 2, 3) == 2);  // ties go to the first class
    require_gradient_matches(loss, {0.3, -1.2, 2.5, 0.1, 0.7, -0.4}, y, 2, 3);
}

TEST_CASE("cross-entropy from logits is stable for huge logits") {
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    const std::vector<float> z = {1000, 0, -1000};
    const std::vector<float> y = {1};
    std::vector<float> g(3);
    const double l = loss.evaluate(z.data(), y.data(), 1, 3, g.data(), 1.0f);
    CHECK(l == doctest::Approx(1000));
    CHECK(g[0] == doctest::Approx(1.0));
    CHECK(g[1] == doctest::Approx(-1.0));
    CHECK(std::isfinite(g[2]));
}

TEST_CASE("sparse categorical cross-entropy from probabilities clips like Keras") {
    const st::loss::sparse_categorical_crossentropy loss{};
    const std::vector<double> p = {0.2, 0.7, 0.1, 0.0, 1.0, 0.0}, y = {1, 0};
    // -log(0.7) - log(1e-7)
    CHECK(loss.evaluate(p.data(), y.data(), 2, 3, static_cast<double*>(nullptr), 1.0) ==
          doctest::Approx(-std::log(0.7) - std::log(1e-7)));
    require_gradient_matches(loss, {0.2, 0.7, 0.1}, {1}, 1, 3);
    CHECK_THROWS_WITH_AS(loss.check_targets(y.data(), 2, 1),
                         doctest::Contains("expected a class index in [0, 1)"), st::usage_error);
    const std::vector<double> fractional = {1.5};
    CHECK_THROWS_AS(loss.check_targets(fractional.data(), 1, 3), st::usage_error);
}

TEST_CASE("categorical cross-entropy with one-hot and soft targets") {
    const st::loss::categorical_crossentropy logits{.from_logits = true}, probs{};
    const std::vector<double> z = {1, 2, 3}, y = {0.25, 0.25, 0.5};
    const double lse = std::log(std::exp(1) + std::exp(2) + std::exp(3));
    CHECK(logits.evaluate(z.data(), y.data(), 1, 3, static_cast<double*>(nullptr), 1.0) ==
          doctest::Approx(0.25 * (lse - 1) + 0.25 * (lse - 2) + 0.5 * (lse - 3)));
    require_gradient_matches(logits, {0.5, -0.5, 1.5}, y, 1, 3);
    const std::vector<double> p = {0.1, 0.6, 0.3}, onehot = {0, 1, 0};
    CHECK(probs.evaluate(p.data(), onehot.data(), 1, 3, static_cast<double*>(nullptr), 1.0) ==
          doctest::Approx(-std::log(0.6)));
    require_gradient_matches(probs, p, y, 1, 3);
    CHECK(probs.accuracy_sum(p.data(), onehot.data(), 1, 3) == 1);
}

TEST_CASE("binary cross-entropy from logits and probabilities") {
    const st::loss::binary_crossentropy logits{.from_logits = true}, probs{};
    const std::vector<double> z = {2.0, -1.0}, y = {1, 0};
    // mean over the two outputs of softplus(-2) and softplus(-1)... for y = 0: softplus(z) = log(1 + e^-1)
    const double expected = 0.5 * (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0)));
    CHECK(logits.evaluate(z.data(), y.data(), 1, 2, static_cast<double*>(nullptr), 1.0) ==
          doctest::Approx(expected));
    require_gradient_matches(logits, {2.0, -1.0, 0.3, -4.0}, {1, 0, 0, 1}, 2, 2);
    const std::vector<double> p = {0.9, 0.2};
    CHECK(probs.evaluate(p.data(), y.data(), 1, 2, static_cast<double*>(nullptr), 1.0) ==
          doctest::Approx(-0.5 * (std::log(0.9) + std::log(0.8))));
    require_gradient_matches(probs, {0.9, 0.2, 0.6, 0.35}, {1, 0, 0, 1}, 2, 2);
    CHECK(probs.accuracy_sum(p.data(), y.data(), 1, 2) == 1.0);
    const std::vector<double> big = {1000, -1000};
    CHECK(logits.evaluate(big.data(), y.data(), 1, 2, static_cast<double*>(nullptr), 1.0) ==
          doctest::Approx(0));
    const std::vector<double> bad = {1.5};
    CHECK_THROWS_WITH_AS(probs.check_targets(bad.data(), 1, 1),
                         doctest::Contains("expected a value in [0, 1]"), st::usage_error);
}

TEST_CASE("mean squared error") {
    const st::loss::mean_squared_error loss;
    const std::vector<double> p = {1, 2, 3, 4}, y = {1, 0, 3, 0};
    // sample 0: (0 + 4) / 2 = 2; sample 1: (0 + 16) / 2 = 8
    CHECK(loss.evaluate(p.data(), y.data(), 2, 2, static_cast<double*>(nullptr), 1.0) == doctest::Approx(10));
    require_gradient_matches(loss, {1.5, -2, 0.25, 4}, y, 2, 2);
    const std::vector<double> nan = {std::nan("")};
    CHECK_THROWS_AS(loss.check_targets(nan.data(), 1, 1), st::usage_error);
}
