// fit with an augment::pipeline: training batches are rewritten, validation
// never; results depend on the seed, not on the thread count.
#include <cmath>
#include <vector>

#include <doctest/doctest.h>
#include <strata/strata.hpp>

namespace st = strata;
namespace aug = st::augment;

namespace {
st::data::dataset<double> small_images(std::size_t n) {
    st::data::dataset<double> d;
    d.x = xt::xtensor<double, 4>::from_shape({n, 6, 6, 2});
    d.y = xt::xtensor<double, 2>::from_shape({n, 1});
    st::rng r(11);
    for (std::size_t i = 0; i < d.x.size(); ++i) d.x.data()[i] = r.uniform(0, 1);
    for (std::size_t i = 0; i < n; ++i) d.y.data()[i] = double(i % 3);
    return d;
}
using net_t = st::basic_sequential<double, st::input<6, 6, 2>, st::flatten, st::dense<3>>;
const st::loss::sparse_categorical_crossentropy logits{.from_logits = true};

// Replaces every training image by zeros: the kernel then gets no gradient.
struct blackout {
    template <class T>
    void apply(T* sample, aug::image_shape s, st::rng&) const {
        std::fill_n(sample, s.size(), T(0));
    }
};

std::vector<double> kernel_of(net_t& net) {
    const auto k = net.layer_parameters<1>();
    return {k.begin(), k.begin() + 72 * 3};
}
}  // namespace

TEST_CASE("fit trains on the augmented batches and validates on the data as it is") {
    const auto data = small_images(48);
    net_t net{st::seed{1}};
    const auto before = kernel_of(net);
    const auto h = st::fit(net, data, logits, st::optim::sgd{.lr = 0.5}, st::epochs{2}, st::batch_size{16},
                           st::validation{data}, aug::pipeline{blackout{}});
    CHECK(kernel_of(net) == before);  // zero inputs: zero kernel gradient
    CHECK(h.epochs.back().val_loss == doctest::Approx(st::evaluate(net, data, logits).loss));
    // Without the pipeline the kernel moves.
    net_t plain{st::seed{1}};
    st::fit(plain, data, logits, st::optim::sgd{.lr = 0.5}, st::epochs{2}, st::batch_size{16});
    CHECK(kernel_of(plain) != before);
}

TEST_CASE("augmented training depends on the seed, not on the thread count") {
    const auto data = small_images(40);
    auto train = [&](std::size_t thread_count, std::uint64_t seed) {
        net_t net{st::seed{2}};
        st::fit(net, data, logits, st::optim::adam{.lr = 0.01}, st::epochs{2}, st::batch_size{20},
                st::seed{seed}, st::threads{thread_count},
                aug::pipeline{aug::random_shift{0.2}, aug::horizontal_flip{}, aug::random_brightness{0.1}});
        return std::vector<double>(net.parameters().begin(), net.parameters().end());
    };
    const auto one = train(1, 5), two = train(2, 5), three = train(3, 5), other_seed = train(2, 6);
    double worst = 0, seed_change = 0;
    for (std::size_t i = 0; i < one.size(); ++i) {
        worst = std::max({worst, std::abs(two[i] - one[i]), std::abs(three[i] - one[i])});
        seed_change = std::max(seed_change, std::abs(other_seed[i] - one[i]));
    }
    CHECK(worst < 1e-12);
    CHECK(seed_change > 1e-4);
}

TEST_CASE("a pipeline on a network over flat input is refused") {
    using flat_net = st::basic_sequential<double, st::input<4>, st::dense<2>>;
    st::data::dataset<double> d;
    d.x = xt::xtensor<double, 4>::from_shape({4, 1, 1, 4});
    d.y = xt::xtensor<double, 2>::from_shape({4, 1});
    d.x.fill(0.5);
    d.y.fill(1);
    flat_net net;
    CHECK_THROWS_WITH_AS(st::fit(net, d, logits, st::optim::sgd{}, aug::pipeline{aug::horizontal_flip{}}),
                         doctest::Contains("needs image input"), st::usage_error);
}
