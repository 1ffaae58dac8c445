// What the diagnostics callback costs: one Fashion-MNIST-sized epoch (60,000
// images) of fit on the reference network, without it (/0), with its weight
// and gradient records (/1: a probe every 25 steps), and with the activity
// pass over 256 probe images too (/2, before training and after the epoch),
// as RESULTS.md quotes.
#include <cstdlib>
#include <vector>

#include <benchmark/benchmark.h>
#include <strata/diagnose/diagnostics.hpp>
#include <strata/strata.hpp>

namespace st = strata;

namespace {

using reference_net = st::models::fashion_mnist_cnn;

st::data::dataset<float> random_set(std::size_t n) {
    st::data::dataset<float> d;
    d.x = xt::xtensor<float, 4>({n, 28, 28, 1});
    d.y = xt::xtensor<float, 2>({n, 1});
    st::rng r(1);
    for (auto& v : d.x) v = static_cast<float>(r.uniform());
    for (std::size_t i = 0; i < n; ++i) d.y(i, 0) = static_cast<float>(i % 10);
    return d;
}

void BM_fit_epoch_diagnostics(benchmark::State& state) {
    // STRATA_FIT_BENCH_IMAGES shrinks the epoch (the CI smoke run only proves it runs).
    const char* images = std::getenv("STRATA_FIT_BENCH_IMAGES");
    static const auto data = random_set(images ? std::strtoul(images, nullptr, 10) : 60000);
    const char* env = std::getenv("STRATA_THREADS");
    const st::threads threads{env ? static_cast<std::size_t>(std::strtoul(env, nullptr, 10)) : 0};
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    for (auto _ : state) {
        reference_net net{st::seed{1}};
        if (state.range(0) == 0)
            st::fit(net, data, loss, st::optim::adam{}, st::epochs{1}, st::batch_size{64}, threads);
        else if (state.range(0) == 1)
            st::fit(net, data, loss, st::optim::adam{}, st::epochs{1}, st::batch_size{64}, threads,
                    st::diagnostics{});
        else
            st::fit(net, data, loss, st::optim::adam{}, st::epochs{1}, st::batch_size{64}, threads,
                    st::diagnostics{.probe_inputs = st::diagnostics::first_samples(data)});
    }
    state.counters["img/s"] = benchmark::Counter(static_cast<double>(state.iterations() * data.size()),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(BM_fit_epoch_diagnostics)->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
