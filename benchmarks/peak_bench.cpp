// The machine's FP32 FMA peak, measured in the same run as the figures that
// quote a share of it: independent chains of fused multiply-adds on full
// SIMD registers (xsimd's widest batch for this build), one per thread and
// with every thread at once.
#include <algorithm>
#include <array>
#include <cstddef>
#include <thread>

#include <benchmark/benchmark.h>
#include <xsimd/xsimd.hpp>

namespace {

void BM_peak_fma(benchmark::State& state) {
    using batch = xsimd::batch<float>;
    // Enough independent accumulators to cover the FMA latency on two ports (4 cycles x 2).
    constexpr std::size_t chains = 12, rounds = 1024;
    std::array<batch, chains> acc;
    for (std::size_t i = 0; i < chains; ++i) acc[i] = batch(1.0f + static_cast<float>(i) * 1e-3f);
    const batch a(0.999999f), b(1e-7f);
    for (auto _ : state) {
        for (std::size_t r = 0; r < rounds; ++r)
            for (std::size_t i = 0; i < chains; ++i) acc[i] = xsimd::fma(acc[i], a, b);
        for (auto& v : acc) benchmark::DoNotOptimize(v);
    }
    const double flop = 2.0 * batch::size * chains * rounds * static_cast<double>(state.iterations());
    state.counters["GFLOP/s"] = benchmark::Counter(flop / 1e9, benchmark::Counter::kIsRate);
    state.counters["lanes"] = benchmark::Counter(batch::size, benchmark::Counter::kAvgThreads);
}
// One thread, and one per core (the counters add up over threads).
BENCHMARK(BM_peak_fma)
    ->Threads(1)
    ->Threads(static_cast<int>(std::max(2u, std::thread::hardware_concurrency())))
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
