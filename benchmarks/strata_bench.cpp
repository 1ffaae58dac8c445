// Throughput of the reference Fashion-MNIST network: training steps and
// batched inference, reported as images/s and GFLOP/s. Names are stable so
// results can be compared over time in RESULTS.md.
#include <cstdlib>
#include <type_traits>
#include <vector>

#include <benchmark/benchmark.h>
#include <cblas.h>
#include <strata/simd/winograd.hpp>
#include <strata/strata.hpp>

namespace st = strata;

namespace {
using reference_net = st::models::fashion_mnist_cnn;
// The same with batch_norm after each convolution (fashion_mnist --variant bn).
using bn_net = st::models::fashion_mnist_cnn_bn;
// Multiply-adds x 2 of the reference network, from its shapes.
constexpr double conv1_flop = 2.0 * 26 * 26 * 32 * 9;
constexpr double forward_flop = conv1_flop + 2.0 * (11 * 11 * 64 * 288 + 1600 * 128 + 128 * 10);
// Forward, backward-weights and backward-data, less conv 1's input gradient (never computed).
constexpr double train_flop = 3 * forward_flop - conv1_flop;

// STRATA_THREADS sets the thread count (compare_pytorch.py uses it); default: one per core.
st::threads bench_threads() {
    const char* env = std::getenv("STRATA_THREADS");
    return st::threads{env ? static_cast<std::size_t>(std::strtoul(env, nullptr, 10)) : 0};
}

std::vector<float> random_images(std::size_t n) {
    std::vector<float> x(n * 784);
    st::rng r(1);
    for (auto& v : x) v = static_cast<float>(r.uniform());
    return x;
}

// One training step as fit runs it: trainer::step (forward, loss, backward,
// penalties, clipping, the optimizer and the NaN guard) on a fixed batch.
template <class Net>
void train_step(benchmark::State& state, st::train_settings<float> settings = {},
                double flop_per_image = train_flop) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    Net net{st::seed{1}};
    settings.thread_count = bench_threads();
    st::trainer trainer(net, st::loss::sparse_categorical_crossentropy{.from_logits = true},
                        st::optim::adam{}, std::move(settings));
    const auto x = random_images(batch);
    std::vector<float> y(batch);
    for (std::size_t i = 0; i < batch; ++i) y[i] = static_cast<float>(i % 10);
    std::uint64_t step = 0;
    for (auto _ : state)
        if (!trainer.step(x.data(), y.data(), batch, ++step).ok()) state.SkipWithError("the step failed");
    const double images = static_cast<double>(state.iterations() * batch);
    state.counters["img/s"] = benchmark::Counter(images, benchmark::Counter::kIsRate);
    state.counters["GFLOP/s"] =
        benchmark::Counter(images * flop_per_image / 1e9, benchmark::Counter::kIsRate);
    state.counters["threads"] = static_cast<double>(trainer.exec().thread_count());
}
void BM_train_step(benchmark::State& state) { train_step<reference_net>(state); }

// ResNet-20 (examples/resnet) on Fashion-MNIST's 28x28 images. Multiply-adds
// x 2 of its convolutions and dense layer: the 3x3 convs of each stage, the
// strided first conv of stages 2 and 3, their 1x1 projections.
constexpr double resnet20_forward_flop =
    2.0 * (28 * 28 * 16 * 9.0 + 6 * 28 * 28 * 16 * 16 * 9.0 + 14 * 14 * 32 * 16 * 9.0 +
           5 * 14 * 14 * 32 * 32 * 9.0 + 14 * 14 * 32 * 16.0 + 7 * 7 * 64 * 32 * 9.0 +
           5 * 7 * 7 * 64 * 64 * 9.0 + 7 * 7 * 64 * 32.0 + 64 * 10.0);
constexpr double resnet20_train_flop = 3 * resnet20_forward_flop - 2.0 * 28 * 28 * 16 * 9;
void BM_train_step_resnet20(benchmark::State& state) {
    train_step<st::models::resnet<20, st::input<28, 28, 1>, 10>>(state, {}, resnet20_train_flop);
}
BENCHMARK(BM_train_step_resnet20)->Arg(64)->Arg(128)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_train_step)->Arg(32)->Arg(64)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);
// GFLOP/s counts the convolutions and dense layers only, as for BM_train_step.
void BM_train_step_bn(benchmark::State& state) { train_step<bn_net>(state); }
BENCHMARK(BM_train_step_bn)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);
// The same step with fashion_mnist --variant bn_aug's pipeline (random shift
// 10%, horizontal flip) applied to each thread's slice, as fit does.
void BM_train_step_bn_aug(benchmark::State& state) {
    const st::augment::pipeline pipeline{st::augment::random_shift{0.1}, st::augment::horizontal_flip{}};
    st::train_settings<float> settings;
    settings.augmentation = [pipeline](const float* in, float* out, std::size_t count,
                                       st::augment::image_shape shape, std::uint64_t seed,
                                       std::size_t first) {
        pipeline.apply(in, out, count, shape, seed, first);
    };
    train_step<bn_net>(state, std::move(settings));
}
BENCHMARK(BM_train_step_bn_aug)->Arg(64)->UseRealTime()->Unit(benchmark::kMillisecond);
// That pipeline alone on 64 images, one thread: in a step each thread
// augments its half, so a step spends about half of this per thread.
void BM_augment(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const st::augment::pipeline pipeline{st::augment::random_shift{0.1}, st::augment::horizontal_flip{}};
    const auto x = random_images(batch);
    std::vector<float> out(x.size());
    std::uint64_t step = 0;
    for (auto _ : state) {
        pipeline.apply(x.data(), out.data(), batch, {28, 28, 1}, ++step, 0);
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["img/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_augment)->Arg(64)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_infer(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    reference_net net{st::seed{1}};
    st::executor<reference_net> exec(bench_threads());  // batch 1 splits the image across them
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
// One-thread square products, strata's kernel beside OpenBLAS's in the same
// binary. OpenBLAS picks its kernel when it loads: run with
// OPENBLAS_CORETYPE=SkylakeX on AVX-512 machines (the scripts do) or it may
// use its AVX2 kernel on CPUs newer than it knows.
void BM_gemm(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n);
    for (auto _ : state) {
        st::simd::gemm<float>(n, n, n, {a.data(), n, false, b.data(), n, false, c.data(), n}, false);
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * double(n) * double(n) * double(n) * double(state.iterations()) / 1e9,
                           benchmark::Counter::kIsRate);
}
BENCHMARK(BM_gemm)->Arg(256)->Arg(512)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_openblas_sgemm(benchmark::State& state) {
    const int n = static_cast<int>(state.range(0));
    openblas_set_num_threads(1);
    std::vector<float> a(std::size_t(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size());
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f,
                    c.data(), n);
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * double(n) * n * double(state.iterations()) / 1e9,
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(BM_openblas_sgemm)->Arg(256)->Arg(512)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);

// Conv layers alone, one thread, 32 images (one thread's slice of a batch
// of 64). Arguments 1 and 2 are the reference network's conv 1 (28x28x1 ->
// 32) and conv 2 (13x13x32 -> 64); 3 to 5 are ResNet-20's 3x3 convolutions
// of each stage (28x28x16 -> 16, 14x14x32 -> 32, 7x7x64 -> 64, same padding).
template <class Layer>
struct conv_case {
    Layer layer;
    std::vector<float> params, grads, in, out, din, workspace;
    static constexpr std::size_t n = 32;
    conv_case()
        : params(Layer::param_count),
          grads(Layer::param_count),
          in(n * Layer::in_shape::size),
          out(n * Layer::out_shape::size),
          din(in.size()),
          workspace(Layer::workspace_size(n)) {
        layer.bind_parameters(params.data());
        st::rng r(1);
        layer.initialize(r);
        for (auto& v : in) v = static_cast<float>(r.uniform());
    }
    st::pass_context<float> ctx() { return {true, 1, 0, 0, workspace.data()}; }
    static constexpr double flop = 2.0 * n * Layer::out_shape::size * Layer::patch;
};
using conv1_t = reference_net::layer_type<0>;
using conv2_t = reference_net::layer_type<2>;
template <std::size_t Size, std::size_t Channels>
using resnet_conv_t = typename st::conv2d<Channels, 3, st::same,
                                          st::no_bias>::template bind<float, st::shape<Size, Size, Channels>>;

// Runs f.template operator()<Layer>() for the layer a benchmark argument names.
template <class F>
void with_conv_case(std::int64_t which, F&& f) {
    switch (which) {
        case 1:
            return f.template operator()<conv1_t>();
        case 2:
            return f.template operator()<conv2_t>();
        case 3:
            return f.template operator()<resnet_conv_t<28, 16>>();
        case 4:
            return f.template operator()<resnet_conv_t<14, 32>>();
        default:
            return f.template operator()<resnet_conv_t<7, 64>>();
    }
}

template <class Layer>
void conv_forward(benchmark::State& state) {
    conv_case<Layer> c;
    for (auto _ : state) {
        c.layer.forward(c.in.data(), c.out.data(), c.n, c.ctx());
        benchmark::DoNotOptimize(c.out.data());
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(c.flop * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
template <class Layer>
void conv_backward(benchmark::State& state) {
    conv_case<Layer> c;
    c.layer.forward(c.in.data(), c.out.data(), c.n, c.ctx());
    std::vector<float> dout(c.out.size(), 0.01f);
    const bool first_layer = std::is_same_v<Layer, conv1_t>;  // the network skips its input gradient
    for (auto _ : state) {
        c.layer.backward(c.in.data(), c.out.data(), dout.data(), first_layer ? nullptr : c.din.data(),
                         c.grads.data(), c.n, c.ctx());
        benchmark::DoNotOptimize(c.grads.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(
        (first_layer ? 1 : 2) * c.flop * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
void BM_conv_forward(benchmark::State& state) {
    with_conv_case(state.range(0), [&]<class Layer>() { conv_forward<Layer>(state); });
}
void BM_conv_backward(benchmark::State& state) {
    with_conv_case(state.range(0), [&]<class Layer>() { conv_backward<Layer>(state); });
}
BENCHMARK(BM_conv_forward)->DenseRange(1, 5)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_conv_backward)->DenseRange(1, 5)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The reference network's dense 1600 -> 128 backward (weight and input
// gradients), one thread, 32 samples.
void BM_dense_backward(benchmark::State& state) {
    using layer_t = reference_net::layer_type<5>;
    static_assert(layer_t::in_shape::size == 1600);
    constexpr std::size_t n = 32;
    layer_t layer;
    std::vector<float> params(layer_t::param_count), grads(layer_t::param_count), in(n * 1600),
        out(n * layer_t::out_shape::size), dout(out.size(), 0.01f), din(in.size()),
        workspace(layer_t::workspace_size(n));
    layer.bind_parameters(params.data());
    st::rng r(1);
    layer.initialize(r);
    for (auto& v : in) v = static_cast<float>(r.uniform());
    const st::pass_context<float> ctx{true, 1, 0, 0, workspace.data()};
    layer.forward(in.data(), out.data(), n, ctx);
    for (auto _ : state) {
        layer.backward(in.data(), out.data(), dout.data(), din.data(), grads.data(), n, ctx);
        benchmark::DoNotOptimize(din.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(4.0 * n * 1600 * 128 * double(state.iterations()) / 1e9,
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(BM_dense_backward)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Winograd F(2x2, 3x3) alone on the same shapes as BM_conv_forward/2..5 (32
// images, one thread). GFLOP/s counts direct convolution's multiply-adds
// ("effective"), so it compares with BM_conv_forward and the FMA peak.
template <std::size_t H, std::size_t C, std::size_t F, std::size_t OH, std::size_t Pad>
void winograd_forward(benchmark::State& state) {
    using wino = st::simd::winograd_f2_3<float, H, H, C, F, OH, OH, Pad, Pad>;
    constexpr std::size_t n = 32;
    std::vector<float> in(n * H * H * C), weights(9 * C * F), out(n * OH * OH * F),
        workspace(wino::workspace_size());
    st::rng r(1);
    for (auto& v : in) v = static_cast<float>(r.uniform());
    for (auto& v : weights) v = static_cast<float>(r.uniform(-0.1, 0.1));
    for (auto _ : state) {
        wino::forward(in.data(), weights.data(), out.data(), n, workspace.data(), st::simd::no_finish{});
        benchmark::DoNotOptimize(out.data());
    }
    const double flop = 2.0 * n * OH * OH * F * 9 * C;
    state.counters["GFLOP/s"] =
        benchmark::Counter(flop * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
void BM_winograd_forward(benchmark::State& state) {
    switch (state.range(0)) {
        case 2:
            return winograd_forward<13, 32, 64, 11, 0>(state);
        case 3:
            return winograd_forward<28, 16, 16, 28, 1>(state);
        case 4:
            return winograd_forward<14, 32, 32, 14, 1>(state);
        default:
            return winograd_forward<7, 64, 64, 7, 1>(state);
    }
}
BENCHMARK(BM_winograd_forward)->DenseRange(2, 5)->UseRealTime()->Unit(benchmark::kMicrosecond);

// batch_norm over conv 1's output (26x26x32), 32 images, one thread: forward
// and backward in training mode, as bytes moved per second.
void BM_batch_norm(benchmark::State& state) {
    using layer_t = bn_net::layer_type<1>;
    constexpr std::size_t n = 32, size = n * layer_t::in_shape::size;
    layer_t layer;
    std::vector<float> params(layer_t::param_count), state_values(layer_t::state_count),
        grads(layer_t::param_count), in(size), out(size), dout(size, 0.01f), din(size),
        workspace(layer_t::workspace_size(n));
    layer.bind_parameters(params.data());
    layer.bind_state(state_values.data());
    st::rng r(1);
    layer.initialize(r);
    for (auto& v : in) v = static_cast<float>(r.uniform());
    const st::pass_context<float> ctx{true, 1, 0, 0, workspace.data()};
    for (auto _ : state) {
        layer.forward(in.data(), out.data(), n, ctx);
        layer.backward(in.data(), out.data(), dout.data(), din.data(), grads.data(), n, ctx);
        benchmark::DoNotOptimize(din.data());
    }
    // forward reads x twice and writes y; backward reads x and dy twice and writes dx.
    state.counters["GB/s"] = benchmark::Counter(8.0 * size * sizeof(float) * double(state.iterations()) / 1e9,
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_batch_norm)->UseRealTime()->Unit(benchmark::kMicrosecond);
}  // namespace

BENCHMARK_MAIN();
