// Throughput of the reference Fashion-MNIST network: training steps and
// batched inference, reported as images/s and GFLOP/s. Names are stable so
// results can be compared over time in RESULTS.md.
#include <benchmark/benchmark.h>
#include <strata/strata.hpp>

namespace st = strata;

namespace {
using reference_net = st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                                     st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                                     st::dense<128, st::relu>, st::dropout<0.5>, st::dense<10>>;
// Multiply-adds x 2 of the reference network, from its shapes.
constexpr double forward_flop = 2.0 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 288 + 1600 * 128 + 128 * 10);
constexpr double train_flop = 3 * forward_flop;  // forward, backward-data, backward-weights

std::vector<float> random_images(std::size_t n) {
    std::vector<float> x(n * 784);
    st::rng r(1);
    for (auto& v : x) v = static_cast<float>(r.uniform());
    return x;
}

void BM_train_step(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    reference_net net{st::seed{1}};
    st::executor<reference_net> exec;
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    const st::optim::adam opt;
    auto opt_state = opt.make_state<float>(net.parameters().size());
    const auto x = random_images(batch);
    std::vector<float> y(batch);
    for (std::size_t i = 0; i < batch; ++i) y[i] = static_cast<float>(i % 10);
    std::uint64_t step = 0;
    for (auto _ : state) {
        exec.train_batch(net, x.data(), y.data(), batch, loss, ++step);
        opt.step(net.parameters(), exec.gradients(), opt_state);
    }
    const double images = static_cast<double>(state.iterations() * batch);
    state.counters["img/s"] = benchmark::Counter(images, benchmark::Counter::kIsRate);
    state.counters["GFLOP/s"] = benchmark::Counter(images * train_flop / 1e9, benchmark::Counter::kIsRate);
    state.counters["threads"] = static_cast<double>(exec.thread_count());
}
BENCHMARK(BM_train_step)->Arg(32)->Arg(64)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_infer(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    reference_net net{st::seed{1}};
    st::executor<reference_net> exec(batch == 1 ? st::threads{1} : st::threads{});
    const auto x = random_images(batch);
    std::vector<float> out(batch * 10);
    for (auto _ : state) {
        exec.predict_batch(net, x.data(), batch, out.data());
        benchmark::DoNotOptimize(out.data());
    }
    const double images = static_cast<double>(state.iterations() * batch);
    state.counters["img/s"] = benchmark::Counter(images, benchmark::Counter::kIsRate);
    state.counters["GFLOP/s"] = benchmark::Counter(images * forward_flop / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_infer)->Arg(1)->Arg(256)->UseRealTime()->Unit(benchmark::kMicrosecond);
}  // namespace

BENCHMARK_MAIN();
