#include <doctest/doctest.h>
#include <strata/strata.hpp>
#include <support/gradient_check.hpp>

namespace st = strata;

using reference_net = st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                                     st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                                     st::dense<128, st::relu>, st::dropout<0.5>, st::dense<10>>;

TEST_CASE("shapes are inferred through the whole network at compile time") {
    static_assert(std::is_same_v<reference_net::layer_type<0>::out_shape, st::shape<26, 26, 32>>);
    static_assert(std::is_same_v<reference_net::layer_type<1>::out_shape, st::shape<13, 13, 32>>);
    static_assert(std::is_same_v<reference_net::layer_type<2>::out_shape, st::shape<11, 11, 64>>);
    static_assert(std::is_same_v<reference_net::layer_type<3>::out_shape, st::shape<5, 5, 64>>);
    static_assert(std::is_same_v<reference_net::layer_type<4>::out_shape, st::shape<1600>>);
    static_assert(std::is_same_v<reference_net::out_shape, st::shape<10>>);
    static_assert(reference_net::layer_count == 8);
    static_assert(reference_net::param_count == 320 + 18496 + 204928 + 1290);
    CHECK(reference_net::param_count == 225034);
}

TEST_CASE("layers are reachable by index and view the network's parameter buffer") {
    reference_net net{st::seed{1}};
    auto& conv = net.layer<0>();
    auto params = net.layer_parameters<0>();
    CHECK(conv.weights() == params.data());
    CHECK(params.size() == 320);
    CHECK(net.layer<5>().weights() == net.layer_parameters<5>().data());
    // Slices start on cache lines.
    CHECK(reinterpret_cast<std::uintptr_t>(net.layer<2>().weights()) % 64 == 0);
    net.layer<6>().set_rate(0.25);
    CHECK(net.layer<6>().rate() == 0.25);
}

TEST_CASE("the same seed gives the same weights; copies are independent") {
    reference_net a{st::seed{9}}, b{st::seed{9}}, c{st::seed{10}};
    CHECK(std::equal(a.parameters().begin(), a.parameters().end(), b.parameters().begin()));
    CHECK(!std::equal(a.parameters().begin(), a.parameters().end(), c.parameters().begin()));
    reference_net copy = a;
    CHECK(copy.layer<0>().weights() != a.layer<0>().weights());
    CHECK(std::equal(a.parameters().begin(), a.parameters().end(), copy.parameters().begin()));
    copy.parameters()[0] += 1;
    CHECK(copy.parameters()[0] != a.parameters()[0]);
}

TEST_CASE("whole-network backward matches finite differences (double)") {
    using net_t = st::basic_sequential<double, st::input<8, 8, 2>, st::conv2d<4, 3, st::relu, st::same>,
                                       st::max_pool<2>, st::conv2d<5, 3, st::tanh>, st::flatten,
                                       st::dense<6, st::elu>, st::dense<3>>;
    net_t net{st::seed{4}};
    st::rng r(8);
    for (auto& p : net.parameters()) p += r.uniform(-0.1, 0.1);
    constexpr std::size_t n = 3;
    std::vector<double> x(n * net_t::in_shape::size), y = {0, 2, 1};
    for (auto& v : x) v = r.uniform(-1, 1);
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    net_t::replica rep;

    auto loss_at = [&] {
        const double* out = net.forward(rep, x.data(), n, true, 0, 0);
        return loss.evaluate(out, y.data(), n, 3, static_cast<double*>(nullptr), 1.0) / n;
    };
    const double* out = net.forward(rep, x.data(), n, true, 0, 0);
    rep.gradients.fill_zero();
    loss.evaluate(out, y.data(), n, 3, rep.grad_a.data(), 1.0 / n);
    net.backward(rep, x.data(), n, 0, 0);
    const std::vector<double> analytic(rep.gradients.data(), rep.gradients.data() + rep.gradients.size());

    double worst = 0;
    auto params = net.parameters();
    for (std::size_t i = 0; i < params.size(); i += 3) {
        const double saved = params[i];
        params[i] = saved + 1e-6;
        const double up = loss_at();
        params[i] = saved - 1e-6;
        const double down = loss_at();
        params[i] = saved;
        worst = std::max(worst, st::testing::relative_error(analytic[i], (up - down) / 2e-6));
    }
    CHECK(worst < 1e-7);
    // flatten reads conv 2's output in place: no buffer of its own, no copy.
    static_assert(net_t::aliases_previous[3] && !net_t::aliases_previous[2]);
    // max_pool does conv 1's activation and bias gradient in its own pass.
    static_assert(net_t::list_type::pools_next<0>() && !net_t::list_type::pools_next<2>());
    CHECK(rep.output(3) == rep.output(2));
    CHECK(rep.activation_offsets[4] == rep.activation_offsets[3]);
}

TEST_CASE("networks can be flat (multi-layer perceptrons) and end in global_avg_pool") {
    using mlp = st::sequential<st::input<4>, st::dense<8, st::relu>, st::dense<2, st::softmax>>;
    static_assert(std::is_same_v<mlp::out_shape, st::shape<2>>);
    using gap = st::sequential<st::input<8, 8, 3>, st::conv2d<6, 3, st::relu, st::same>, st::global_avg_pool,
                               st::dense<2>>;
    static_assert(std::is_same_v<gap::layer_type<1>::out_shape, st::shape<6>>);
    CHECK(gap::param_count == 3 * 3 * 3 * 6 + 6 + 6 * 2 + 2);
}

TEST_CASE("a seed gives the weights it gave before composites existed") {
    // Recorded with the flat sequential of commit 437c8ee: the list of layers
    // that composites share seeds each top-level layer exactly as before.
    using bn_net =
        st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::batch_norm, st::max_pool<2>,
                       st::conv2d<64, 3, st::relu>, st::batch_norm, st::max_pool<2>, st::flatten,
                       st::dense<128, st::relu>, st::dropout<0.5>, st::dense<10>>;
    bn_net net{st::seed{42}};
    double sum = 0, weighted = 0;
    std::size_t i = 0;
    for (float v : net.parameters()) {
        sum += v;
        weighted += v * double(i % 1000 + 1);
        ++i;
    }
    CHECK(net.parameters().size() == 225232);
    CHECK(sum == doctest::Approx(104.30427958568052).epsilon(1e-12));
    CHECK(weighted == doctest::Approx(63718.530820393862).epsilon(1e-12));
}
