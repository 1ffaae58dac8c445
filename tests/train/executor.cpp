// Counts heap allocations to prove that a training step allocates nothing
// once its buffers exist.
#include <doctest/doctest.h>
#include <strata/strata.hpp>

#include "../support/count_allocations.hpp"

namespace st = strata;

namespace {
// Trains a few steps after a first that sizes every buffer; counts the allocations after it.
template <class Net>
void check_steady_state_allocates_nothing(std::size_t sample_size) {
    Net net{st::seed{1}};
    st::executor<Net> exec(st::threads{2});
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    const st::optim::adam opt;
    auto state = opt.make_state<float>(net.parameters().size());
    std::vector<float> x(64 * sample_size), y(64);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i % 29) / 29.0f;
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = float(i % 10);

    auto step = [&](std::size_t n, std::uint64_t s) {
        const auto stats = exec.train_batch(net, x.data(), y.data(), n, loss, s);
        opt.step(net.parameters(), exec.gradients(), state);
        return stats;
    };
    step(64, 1);  // sizes every buffer
    const std::size_t before = strata_test::allocations.load();
    for (std::uint64_t s = 2; s < 6; ++s) CHECK(step(64, s).finite);
    CHECK(step(37, 9).finite);  // a smaller last batch reuses the buffers
    if (strata_test::counting_allocations) CHECK(strata_test::allocations.load() == before);
}
}  // namespace

TEST_CASE("a training step allocates nothing after the first batch") {
    using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                                 st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                                 st::dense<128, st::relu>, st::dropout<0.5>, st::dense<10>>;
    check_steady_state_allocates_nothing<net_t>(784);
}

TEST_CASE("a ResNet training step allocates nothing after the first batch") {
    check_steady_state_allocates_nothing<st::models::resnet<8, st::input<28, 28, 1>, 10>>(784);
}

TEST_CASE("a ResNet's gradients do not depend on the thread count (batch_norm inside composites syncs)") {
    using net_t = st::models::resnet<8, st::input<12, 12, 1>, 10>;
    net_t net{st::seed{3}};
    std::vector<float> x(24 * 144), y(24);
    st::rng r(7);
    for (auto& v : x) v = static_cast<float>(r.uniform());
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = float(i % 10);
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    st::executor<net_t> one(st::threads{1}), two(st::threads{2});
    const auto a = one.train_batch(net, x.data(), y.data(), 24, loss, 1);
    const auto b = two.train_batch(net, x.data(), y.data(), 24, loss, 1);
    CHECK(b.loss_sum == doctest::Approx(a.loss_sum).epsilon(1e-5));
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < one.gradients().size(); ++i) {
        worst = std::max(worst, double(std::abs(one.gradients()[i] - two.gradients()[i])));
        scale = std::max(scale, double(std::abs(one.gradients()[i])));
    }
    INFO("max difference " << worst << " of max |gradient| " << scale);
    CHECK(worst <= 1e-5 * scale);
}

TEST_CASE("an executor with more threads than samples or than any fixed table still sums every slice") {
    using net_t = st::sequential<st::input<2>, st::dense<1>>;
    net_t net{st::seed{1}};
    std::vector<float> x(2 * 2000), y(2000);
    for (std::size_t i = 0; i < y.size(); ++i) {
        x[2 * i] = float(i % 7);
        x[2 * i + 1] = 1;
        y[i] = float(i % 7);
    }
    const st::loss::mean_squared_error loss;
    st::executor<net_t> one(st::threads{1}), many(st::threads{300});
    CHECK(many.thread_count() == 300);
    const auto a = one.train_batch(net, x.data(), y.data(), 2000, loss, 1);
    const auto b = many.train_batch(net, x.data(), y.data(), 2000, loss, 1);
    CHECK(b.finite);
    CHECK(b.loss_sum == doctest::Approx(a.loss_sum).epsilon(1e-5));
    for (std::size_t i = 0; i < 3; ++i)
        CHECK(many.gradients()[i] == doctest::Approx(one.gradients()[i]).epsilon(1e-4));
}

TEST_CASE("one image split across threads gives the one-thread result, and allocates nothing") {
    // Over the split thresholds: the 3x3 conv on 13x13x32 (2.2M multiply-adds,
    // uneven pixel shares), the 'same' 1x1 conv (1.2M, no im2col: it reads its
    // input in place) and dense 4000->128; the first conv (194k) stays whole.
    using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                                 st::conv2d<64, 3, st::relu>, st::conv2d<160, 1, st::elu, st::same>,
                                 st::max_pool<2>, st::flatten, st::dense<128, st::relu>, st::dense<10>>;
    net_t net{st::seed{3}};
    st::rng r(5);
    for (auto& p : net.parameters()) p += 0.05f * static_cast<float>(r.uniform() - 0.5);  // biases too
    std::vector<float> x(3 * 784);
    for (auto& v : x) v = static_cast<float>(r.uniform());
    st::executor<net_t> one(st::threads{1}), two(st::threads{2}), three(st::threads{3});
    std::vector<float> expected(10), got(10), batched(3 * 10), shared(3 * 10);
    one.predict_batch(net, x.data(), 3, batched.data());
    two.predict_batch(net, x.data(), 3, shared.data());  // 3 samples: one slice, its pixels shared
    for (std::size_t i = 0; i < batched.size(); ++i)
        CHECK(shared[i] == doctest::Approx(batched[i]).epsilon(1e-6));
    for (std::size_t image = 0; image < 3; ++image) {
        one.predict_batch(net, x.data() + image * 784, 1, expected.data());
        for (auto* exec : {&two, &three}) {
            exec->predict_batch(net, x.data() + image * 784, 1, got.data());
            for (std::size_t i = 0; i < 10; ++i) {
                // Not bit for bit: a ragged GEMM tile finishes with the scalar exp, a full one with xsimd's.
                CHECK(got[i] == doctest::Approx(expected[i]).epsilon(1e-6));
                CHECK(batched[image * 10 + i] == doctest::Approx(expected[i]).epsilon(1e-6));
            }
        }
    }
    const std::size_t before = strata_test::allocations.load();
    for (int round = 0; round < 50; ++round) two.predict_batch(net, x.data(), 1, got.data());
    if (strata_test::counting_allocations) CHECK(strata_test::allocations.load() == before);
}
