// Weight penalties, clipping, schedules and user-written policies inside fit.
#include <cmath>
#include <numbers>
#include <span>
#include <vector>

#include <doctest/doctest.h>
#include <strata/strata.hpp>

namespace st = strata;
namespace reg = st::regularize;

namespace {
// Three classes from 2x2x1 images: a small problem that trains in milliseconds.
st::data::dataset<double> toy_data(std::size_t n, std::uint64_t seed = 4) {
    st::data::dataset<double> d;
    d.x = xt::xtensor<double, 4>::from_shape({n, 2, 2, 1});
    d.y = xt::xtensor<double, 2>::from_shape({n, 1});
    st::rng r(seed);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t k = 0; k < 4; ++k) d.x.data()[4 * i + k] = r.uniform(-1, 1);
        d.y.data()[i] = d.x.data()[4 * i] > 0.3 ? 2 : d.x.data()[4 * i + 1] > 0 ? 1 : 0;
    }
    return d;
}
const st::loss::sparse_categorical_crossentropy logits{.from_logits = true};

template <class Net>
std::vector<double> params_of(const Net& net) {
    return {net.parameters().begin(), net.parameters().end()};
}
double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    return worst;
}
}  // namespace

TEST_CASE_TEMPLATE("penalty values and gradients follow Keras' formulas", T, float, double) {
    // 37 values: full SIMD vectors, a tail, and one exact zero.
    std::vector<T> w(37), g(37, T(0.25));
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = T(0.125) * T(int(i) - 18);
    double sum_abs = 0, sum_sq = 0;
    for (T v : w) sum_abs += std::abs(double(v)), sum_sq += double(v) * double(v);
    const std::span<const T> ws(w);

    CHECK(reg::l2{0.3}.penalty(ws) == doctest::Approx(0.3 * sum_sq));
    CHECK(reg::l1{0.2}.penalty(ws) == doctest::Approx(0.2 * sum_abs));
    CHECK(reg::l1_l2{0.2, 0.3}.penalty(ws) == doctest::Approx(0.2 * sum_abs + 0.3 * sum_sq));

    auto l2_grad = g;
    reg::l2{0.3}.add_gradient(ws, std::span<T>(l2_grad));
    auto l1_grad = g;
    reg::l1{0.2}.add_gradient(ws, std::span<T>(l1_grad));
    for (std::size_t i = 0; i < w.size(); ++i) {
        CHECK(double(l2_grad[i]) == doctest::Approx(0.25 + 2 * 0.3 * double(w[i])));  // 2 lambda w
        const double sign = w[i] > 0 ? 1 : w[i] < 0 ? -1 : 0;
        CHECK(double(l1_grad[i]) == doctest::Approx(0.25 + 0.2 * sign));
    }
    CHECK_THROWS_WITH_AS(reg::l2{-1}.check(), doctest::Contains("l2 must be a finite value >= 0"),
                         std::invalid_argument);
}

TEST_CASE("SGD with an L2 penalty of wd/2 on every weight equals SGD with weight decay wd") {
    using penalised = st::basic_sequential<
        double, st::input<2, 2, 1>,
        st::conv2d<3, 2, st::relu, st::same, st::kernel_regularizer<reg::l2>, st::bias_regularizer<reg::l2>>,
        st::flatten,
        st::dense<3, st::identity, st::kernel_regularizer<reg::l2>, st::bias_regularizer<reg::l2>>>;
    using plain = st::basic_sequential<double, st::input<2, 2, 1>, st::conv2d<3, 2, st::relu, st::same>,
                                       st::flatten, st::dense<3>>;
    const auto data = toy_data(96);
    constexpr double wd = 0.1;
    penalised a{st::seed{7}};
    a.layer<0>().kernel_penalty = a.layer<0>().bias_penalty = reg::l2{wd / 2};
    a.layer<2>().kernel_penalty = a.layer<2>().bias_penalty = reg::l2{wd / 2};
    plain b{st::seed{7}};
    REQUIRE(params_of(a) == params_of(b));
    st::fit(a, data, logits, st::optim::sgd{.lr = 0.1, .momentum = 0.9}, st::epochs{3}, st::batch_size{16});
    st::fit(b, data, logits, st::optim::sgd{.lr = 0.1, .momentum = 0.9, .weight_decay = wd}, st::epochs{3},
            st::batch_size{16});
    CHECK(max_difference(params_of(a), params_of(b)) < 1e-12);

    // The same through fit's weight_penalty on a network without biases.
    using no_bias_net =
        st::basic_sequential<double, st::input<2, 2, 1>, st::flatten, st::dense<5, st::relu, st::no_bias>,
                             st::dense<3, st::identity, st::no_bias>>;
    no_bias_net c{st::seed{8}}, d{st::seed{8}};
    st::fit(c, data, logits, st::optim::sgd{.lr = 0.1}, st::weight_penalty{reg::l2{wd / 2}}, st::epochs{2},
            st::batch_size{16});
    st::fit(d, data, logits, st::optim::sgd{.lr = 0.1, .weight_decay = wd}, st::epochs{2},
            st::batch_size{16});
    CHECK(max_difference(params_of(c), params_of(d)) < 1e-12);
}

TEST_CASE("reported losses include the penalties") {
    using net_t = st::basic_sequential<double, st::input<2, 2, 1>, st::flatten,
                                       st::dense<4, st::relu, st::kernel_regularizer<reg::l1>>, st::dense<3>>;
    const auto data = toy_data(64);
    net_t a{st::seed{3}}, b{st::seed{3}};
    a.layer<1>().kernel_penalty = reg::l1{0.05};
    b.layer<1>().kernel_penalty = reg::l1{0};  // instead of Keras' default 0.01
    // A learning rate this small leaves the weights (and so the penalty) as they are.
    const st::optim::sgd still{.lr = 1e-12};
    const auto with =
        st::fit(a, data, logits, still, st::weight_penalty{reg::l2{0.02}}, st::validation{data});
    const auto without = st::fit(b, data, logits, still, st::validation{data});
    double expected = 0, l2_sum = 0;
    for (std::size_t i = 0; i < 4 * 4; ++i) expected += std::abs(a.layer<1>().weights()[i]);
    expected *= 0.05;
    for (std::size_t i = 0; i < 4 * 4; ++i) l2_sum += a.layer<1>().weights()[i] * a.layer<1>().weights()[i];
    for (std::size_t i = 0; i < 4 * 3; ++i) l2_sum += a.layer<2>().weights()[i] * a.layer<2>().weights()[i];
    expected += 0.02 * l2_sum;
    CHECK(with.epochs[0].loss - without.epochs[0].loss == doctest::Approx(expected).epsilon(1e-6));
    CHECK(with.epochs[0].val_loss - without.epochs[0].val_loss == doctest::Approx(expected).epsilon(1e-6));
    // evaluate() counts the layer's own penalty (the global one belongs to fit).
    CHECK(st::evaluate(a, data, logits).loss - st::evaluate(b, data, logits).loss ==
          doctest::Approx(expected - 0.02 * l2_sum).epsilon(1e-6));
}

TEST_CASE("clipping bounds every update") {
    using net_t = st::basic_sequential<double, st::input<2, 2, 1>, st::flatten, st::dense<3>>;
    const auto data = toy_data(32);
    net_t net{st::seed{1}};
    const auto before = params_of(net);
    // With lr 1 and every gradient clamped to 1e-3, 2 steps move a weight by at most 2e-3.
    st::fit(net, data, logits, st::optim::sgd{.lr = 1, .clip = {.value = 1e-3}}, st::batch_size{16});
    const double moved = max_difference(params_of(net), before);
    CHECK(moved <= 2e-3 + 1e-15);
    CHECK(moved > 1e-3);
    // A global norm of 1e-4 bounds the whole step.
    net_t other{st::seed{1}};
    st::fit(other, data, logits, st::optim::sgd{.lr = 1, .clip = {.global_norm = 1e-4}}, st::batch_size{32});
    double norm = 0;
    for (std::size_t i = 0; i < before.size(); ++i) norm += std::pow(other.parameters()[i] - before[i], 2);
    CHECK(std::sqrt(norm) == doctest::Approx(1e-4));
    CHECK_THROWS_AS(st::fit(other, data, logits, st::optim::adam{.clip = {.value = -1}}),
                    std::invalid_argument);
}

TEST_CASE("fit follows a learning-rate schedule step by step") {
    using net_t = st::basic_sequential<double, st::input<2, 2, 1>, st::flatten, st::dense<3>>;
    const auto data = toy_data(64);
    net_t net{st::seed{1}};
    const auto h = st::fit(net, data, logits, st::optim::sgd{.lr = 0.4}, st::epochs{4}, st::batch_size{16},
                           st::schedule::step_decay{.factor = 0.5, .every_epochs = 1});
    REQUIRE(h.epochs.size() == 4);
    for (std::size_t e = 0; e < 4; ++e)
        CHECK(h.epochs[e].learning_rate == doctest::Approx(0.4 * std::pow(0.5, e)));
    // Cosine decay over 4 steps; each epoch is 2 steps, and its last step sets its record.
    net_t other{st::seed{1}};
    const auto c = st::fit(other, data, logits, st::optim::sgd{.lr = 0.4}, st::epochs{2}, st::batch_size{32},
                           st::schedule::cosine_decay{.decay_steps = 4});
    CHECK(c.epochs[0].learning_rate == doctest::Approx(0.4 * 0.5 * (1 + std::cos(std::numbers::pi * 1 / 4))));
    CHECK(c.epochs[1].learning_rate == doctest::Approx(0.4 * 0.5 * (1 + std::cos(std::numbers::pi * 3 / 4))));
}

TEST_CASE("reduce_on_plateau cuts the rate when the monitored value stalls") {
    using net_t = st::basic_sequential<double, st::input<2, 2, 1>, st::flatten, st::dense<3>>;
    const auto data = toy_data(64);
    net_t net{st::seed{1}};
    // A rate of 1e-12 makes no progress, so every epoch is a plateau.
    const auto h =
        st::fit(net, data, logits, st::optim::sgd{.lr = 1e-12}, st::epochs{5}, st::batch_size{16},
                st::validation{data},
                st::schedule::reduce_on_plateau{
                    .monitor = st::metric::val_loss, .factor = 0.5, .patience = 2, .min_delta = 1e-3});
    std::vector<double> rates;
    for (const auto& e : h.epochs) rates.push_back(e.learning_rate / 1e-12);
    // Epoch 1 sets the best; epochs 2 and 3 do not improve, so epoch 4 runs at half.
    CHECK(rates[0] == doctest::Approx(1));
    CHECK(rates[2] == doctest::Approx(1));
    CHECK(rates[3] == doctest::Approx(0.5));
    CHECK_THROWS_WITH_AS(st::fit(net, data, logits, st::optim::sgd{}, st::schedule::reduce_on_plateau{}),
                         doctest::Contains("needs validation"), st::usage_error);
}

namespace {
// A user-written optimizer: signed SGD (p -= lr sign(g)), no library code involved.
struct sign_sgd {
    double lr = 0.01;
    template <class T>
    struct state_type {};
    template <class T>
    state_type<T> make_state(std::size_t) const {
        return {};
    }
    template <class T>
    void step(std::span<T> params, std::span<const T> grads, state_type<T>&) const {
        for (std::size_t i = 0; i < params.size(); ++i)
            params[i] -= static_cast<T>(lr) * static_cast<T>((grads[i] > 0) - (grads[i] < 0));
    }
};
// A user-written regularizer: pulls weights towards 1 with strength k (k sum (w - 1)^2).
struct towards_one {
    double k = 0.5;
    template <class T>
    double penalty(std::span<const T> w) const {
        double s = 0;
        for (T v : w) s += (double(v) - 1) * (double(v) - 1);
        return k * s;
    }
    template <class T>
    void add_gradient(std::span<const T> w, std::span<T> g) const {
        for (std::size_t i = 0; i < w.size(); ++i) g[i] += static_cast<T>(2 * k * (double(w[i]) - 1));
    }
};
static_assert(st::optimizer<sign_sgd, float> && st::regularizer<towards_one, float>);
}  // namespace

TEST_CASE("user-written optimizer and regularizer plug into fit") {
    using net_t = st::basic_sequential<double, st::input<2, 2, 1>, st::flatten,
                                       st::dense<3, st::identity, st::no_bias>>;
    const auto data = toy_data(64);
    net_t net{st::seed{2}};
    const auto weights = [&] {
        const auto w = net.layer_parameters<1>();
        return std::vector<double>(w.begin(), w.end());
    };
    const auto before = weights();
    st::fit(net, data, logits, sign_sgd{.lr = 1e-3}, st::batch_size{64});
    // One step of signed SGD moves every weight by exactly the learning rate.
    const auto after = weights();
    for (std::size_t i = 0; i < before.size(); ++i)
        CHECK(std::abs(after[i] - before[i]) == doctest::Approx(1e-3));
    // A strong pull towards 1 dominates the data: the weights end near 1.
    st::fit(net, data, logits, st::optim::sgd{.lr = 0.05}, st::weight_penalty{towards_one{5}}, st::epochs{20},
            st::batch_size{64});
    for (double w : weights()) CHECK(w == doctest::Approx(1).epsilon(0.05));
}
