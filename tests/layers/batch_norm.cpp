#include <cmath>
#include <vector>

#include <doctest/doctest.h>
#include <strata/strata.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;

TEST_CASE("batch_norm backward matches finite differences in training mode") {
    // Over channels of an image, and over features of a flat vector.
    st::testing::require_gradients_match<st::batch_norm, st::shape<5, 4, 3>>(3, 11);
    st::testing::require_gradients_match<st::batch_norm, st::shape<7>>(6, 12);
    // 20 channels: a full SIMD vector plus a scalar tail in double.
    st::testing::require_gradients_match<st::batch_norm, st::shape<2, 3, 20>>(2, 13);
}

TEST_CASE("batch_norm backward matches finite differences in inference mode") {
    st::testing::require_gradients_match<st::batch_norm, st::shape<5, 4, 3>>(3, 21, 1.0, false);
    st::testing::require_gradients_match<st::batch_norm, st::shape<7>>(4, 22, 1.0, false);
}

namespace {
using bn_layer = st::batch_norm::bind<double, st::shape<2, 2, 2>>;
struct bound_bn {
    bn_layer layer;
    std::vector<double> params = std::vector<double>(4), state = std::vector<double>(4),
                        workspace = std::vector<double>(4);
    bound_bn() {
        layer.bind_parameters(params.data());
        layer.bind_state(state.data());
        st::rng r(1);
        layer.initialize(r);
    }
    std::vector<double> run(const std::vector<double>& x, bool training) {
        std::vector<double> out(x.size());
        layer.forward(x.data(), out.data(), x.size() / 8, {training, 0, 0, 0, workspace.data()});
        return out;
    }
};
}  // namespace

TEST_CASE("batch_norm normalises with the batch's statistics and updates the moving ones") {
    bound_bn bn;
    // Element by element: g++ 12.2 with AVX-512 miscompiles the constant
    // vector {1, 1, 0, 0} (SLP vectorizer broadcasts its first element).
    for (int c = 0; c < 2; ++c) {
        CHECK(bn.params[c] == 1);      // gamma
        CHECK(bn.params[2 + c] == 0);  // beta
        CHECK(bn.state[c] == 0);       // moving mean
        CHECK(bn.state[2 + c] == 1);   // moving variance
    }
    bn.params = {2, 1, 0.5, 0};
    // Two samples of 2x2 pixels, 2 channels: channel 0 holds 1..8, channel 1 is constant 3.
    const std::vector<double> x{1, 3, 2, 3, 3, 3, 4, 3, 5, 3, 6, 3, 7, 3, 8, 3};
    const auto y = bn.run(x, true);
    // Channel 0: mean 4.5, biased variance 5.25.
    const double inv_std = 1 / std::sqrt(5.25 + 1e-3);
    for (int i = 0; i < 8; ++i) {
        CHECK(y[2 * i] == doctest::Approx(2 * (i + 1 - 4.5) * inv_std + 0.5).epsilon(1e-12));
        CHECK(y[2 * i + 1] == doctest::Approx(0.0));  // constant channel: (3 - 3) * anything + beta
    }
    // Keras' update with momentum 0.99.
    CHECK(bn.state[0] == doctest::Approx(0.01 * 4.5));
    CHECK(bn.state[1] == doctest::Approx(0.01 * 3));
    CHECK(bn.state[2] == doctest::Approx(0.99 + 0.01 * 5.25));
    CHECK(bn.state[3] == doctest::Approx(0.99));
}

TEST_CASE("batch_norm in inference mode uses the moving statistics") {
    bound_bn bn;
    bn.params = {2, 1, 0.5, -1};
    bn.state = {1, -2, 4, 0.25};
    bn.layer.set_epsilon(1e-6);
    const std::vector<double> x{3, 0, 5, -2, 1, 1, -1, 2};
    const auto y = bn.run(x, false);
    for (int p = 0; p < 4; ++p) {
        CHECK(y[2 * p] == doctest::Approx(2 * (x[2 * p] - 1) / std::sqrt(4 + 1e-6) + 0.5));
        CHECK(y[2 * p + 1] == doctest::Approx((x[2 * p + 1] + 2) / std::sqrt(0.25 + 1e-6) - 1));
    }
    CHECK(bn.state == std::vector<double>{1, -2, 4, 0.25});  // inference never updates them
    CHECK_THROWS_AS(bn.layer.set_momentum(1.5), std::invalid_argument);
    CHECK_THROWS_AS(bn.layer.set_epsilon(0), std::invalid_argument);
}

namespace {
using bn_net = st::basic_sequential<double, st::input<6, 6, 2>, st::conv2d<5, 3>, st::batch_norm, st::relu,
                                    st::flatten, st::dense<6>, st::batch_norm, st::dense<3>>;

struct step_result {
    std::vector<double> gradients, state;
    double loss;
};

template <class Net = bn_net>
step_result one_step(std::size_t thread_count, const std::vector<double>& x, const std::vector<double>& y) {
    Net net{st::seed{5}};
    st::executor<Net> exec(st::threads{thread_count});
    const auto stats =
        exec.train_batch(net, x.data(), y.data(), y.size(), st::loss::sparse_categorical_crossentropy{}, 1);
    REQUIRE(stats.finite);
    return {{exec.gradients().begin(), exec.gradients().end()},
            {net.state().begin(), net.state().end()},
            stats.loss_sum};
}
}  // namespace

TEST_CASE("batch statistics cover the whole batch however it is split across threads") {
    constexpr std::size_t n = 23;
    st::rng r(9);
    std::vector<double> x(n * 72), y(n);
    for (auto& v : x) v = r.uniform(-1, 1);
    for (std::size_t i = 0; i < n; ++i) y[i] = double(i % 3);
    const auto one = one_step(1, x, y);
    for (std::size_t t : {2, 3, 5}) {
        CAPTURE(t);
        const auto many = one_step(t, x, y);
        CHECK(many.loss == doctest::Approx(one.loss).epsilon(1e-12));
        double worst = 0;
        for (std::size_t i = 0; i < one.gradients.size(); ++i)
            worst = std::max(worst, std::abs(many.gradients[i] - one.gradients[i]));
        CHECK(worst < 1e-12);
        for (std::size_t i = 0; i < one.state.size(); ++i)
            CHECK(many.state[i] == doctest::Approx(one.state[i]).epsilon(1e-12));
    }
}

namespace {
// Throws on one thread's slice while the other waits inside batch_norm's
// backward reduction.
struct failing_loss : st::loss::sparse_categorical_crossentropy {
    template <class T>
    double evaluate(const T* out, const T* y, std::size_t n, std::size_t width, T* grad, T scale) const {
        if (y[0] == 2) throw std::runtime_error("bad slice");
        return st::loss::sparse_categorical_crossentropy::evaluate(out, y, n, width, grad, scale);
    }
};
}  // namespace

TEST_CASE("a failing slice does not leave the others waiting for batch statistics") {
    bn_net net{st::seed{5}};
    st::executor<bn_net> exec(st::threads{2});
    std::vector<double> x(8 * 72, 0.5), y{0, 0, 0, 0, 2, 0, 0, 0};
    CHECK_THROWS(exec.train_batch(net, x.data(), y.data(), 8, failing_loss{}, 1));
    // The executor is usable again afterwards.
    y[4] = 1;
    CHECK(exec.train_batch(net, x.data(), y.data(), 8, failing_loss{}, 1).finite);
}

TEST_CASE("summary counts moving statistics as non-trainable") {
    using net_t =
        st::sequential<st::input<8, 8, 1>, st::conv2d<4, 3>, st::batch_norm, st::flatten, st::dense<2>>;
    net_t net;
    const auto s = st::summary(net);
    CHECK(s.rows[1].params == 16);
    CHECK(s.trainable_params == net_t::param_count);
    CHECK(s.non_trainable_params == 8);
    std::ostringstream out;
    out << s;
    CHECK(out.str().find("Non-trainable params: 8") != std::string::npos);
}

TEST_CASE("batch_norm runs the element-wise activation after it in its own passes") {
    using in = st::shape<3, 4, 6>;
    using bn = st::batch_norm::bind<double, in>;
    static_assert(st::detail::fuses_activation<bn, st::relu::bind<double, in>>::value);
    static_assert(st::detail::fuses_activation<bn, st::elu::bind<double, in>>::value);
    // Softmax mixes channels; a layer without forward_activated runs its own.
    static_assert(!st::detail::fuses_activation<bn, st::softmax::bind<double, in>>::value);
    static_assert(
        !st::detail::fuses_activation<st::conv2d<6, 1>::bind<double, in>, st::relu::bind<double, in>>::value);

    SUBCASE("the pair's gradients match finite differences") {
        // 6 and 20 channels: vectors and a scalar tail; flat features after a dense layer.
        st::testing::require_gradients_match<st::chain<st::batch_norm, st::elu>, in>(3, 31);
        st::testing::require_gradients_match<st::chain<st::batch_norm, st::tanh>, st::shape<2, 3, 20>>(2, 32);
        st::testing::require_gradients_match<st::chain<st::dense<7>, st::batch_norm, st::sigmoid>,
                                             st::shape<5>>(6, 33);
        st::testing::require_gradients_match<st::chain<st::batch_norm, st::elu>, in>(3, 34, 1.0, false);
    }
    SUBCASE("a network trains as it does with the pair run apart") {
        // chain<relu> is not an activation layer, so nothing fuses there.
        using apart = st::basic_sequential<double, st::input<6, 6, 2>, st::conv2d<5, 3>, st::batch_norm,
                                           st::chain<st::relu>, st::flatten, st::dense<6>, st::batch_norm,
                                           st::dense<3>>;
        static_assert(bn_net::list_type::fuses_next<1>() && !apart::list_type::fuses_next<1>());
        st::rng r(10);
        std::vector<double> x(9 * 72), y(9);
        for (auto& v : x) v = r.uniform(-1, 1);
        for (std::size_t i = 0; i < y.size(); ++i) y[i] = double(i % 3);
        const auto separate = one_step<apart>(2, x, y), fused = one_step<bn_net>(2, x, y);
        CHECK(fused.loss == doctest::Approx(separate.loss).epsilon(1e-12));
        REQUIRE(fused.gradients.size() == separate.gradients.size());
        double worst = 0;
        for (std::size_t i = 0; i < fused.gradients.size(); ++i)
            worst = std::max(worst, std::abs(fused.gradients[i] - separate.gradients[i]));
        CHECK(worst < 1e-12);
        CHECK(fused.state == separate.state);
    }
}
