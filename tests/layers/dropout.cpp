#include <doctest/doctest.h>
#include <strata/layers/dropout.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;

namespace {
using layer_t = st::dropout<0.3>::bind<double, st::shape<1000>>;

std::vector<double> run(const layer_t& layer, std::size_t n, bool training, std::uint64_t step_seed,
                        std::size_t first_sample = 0) {
    std::vector<double> x(n * 1000, 2.0), out(x.size()), ws(layer_t::workspace_size(n));
    layer.forward(x.data(), out.data(), n, {training, step_seed, first_sample, 4, ws.data()});
    return out;
}
}  // namespace

TEST_CASE("dropout drops the requested fraction and preserves the expectation") {
    layer_t layer;
    const auto out = run(layer, 50, true, 11);
    std::size_t dropped = 0;
    double sum = 0;
    for (double v : out) {
        if (v == 0)
            ++dropped;
        else
            CHECK(v == doctest::Approx(2.0 / 0.7));
        sum += v;
    }
    // 50,000 draws: the fraction's standard deviation is about 0.002.
    CHECK(double(dropped) / out.size() == doctest::Approx(0.3).epsilon(0.03));
    CHECK(sum / out.size() == doctest::Approx(2.0).epsilon(0.02));
}

TEST_CASE("dropout is the identity at inference and when the rate is 0") {
    layer_t layer;
    for (double v : run(layer, 3, false, 11)) CHECK(v == 2.0);
    layer.set_rate(0.0);
    for (double v : run(layer, 3, true, 11)) CHECK(v == 2.0);
    CHECK_THROWS_AS(layer.set_rate(1.0), std::invalid_argument);
    CHECK_THROWS_AS(layer.set_rate(-0.1), std::invalid_argument);
}

TEST_CASE("dropout masks depend on the seed and the sample, not on the batch split") {
    layer_t layer;
    const auto whole = run(layer, 4, true, 99);
    CHECK(whole == run(layer, 4, true, 99));
    CHECK(whole != run(layer, 4, true, 100));
    // Samples 2 and 3 run as their own slice give the same mask as in the whole batch.
    const auto tail = run(layer, 2, true, 99, 2);
    CHECK(std::equal(tail.begin(), tail.end(), whole.begin() + 2000));
    // Different samples get different masks.
    CHECK(!std::equal(whole.begin(), whole.begin() + 1000, whole.begin() + 1000));
}

TEST_CASE("dropout's rate is settable at run time") {
    layer_t layer;
    layer.set_rate(0.8);
    const auto out = run(layer, 20, true, 5);
    const auto dropped = std::count(out.begin(), out.end(), 0.0);
    CHECK(double(dropped) / out.size() == doctest::Approx(0.8).epsilon(0.03));
}

TEST_CASE("dropout backward matches finite differences with its mask fixed") {
    st::testing::require_gradients_match<st::dropout<0.4>, st::shape<3, 3, 4>>(3);
}
