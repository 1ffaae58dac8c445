// Conformance with PyTorch: each case runs a strata network on the weights,
// inputs and targets that tests/conformance/generate.py wrote (with PyTorch,
// in float64) and compares outputs, loss, every gradient and the weights
// after 10 optimizer steps. Errors are measured per tensor as
// max |strata - torch| / max(max |torch|, 0.1); float must agree to 1e-5,
// double to 1e-10.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>
#include <strata/strata.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

namespace st = strata;
namespace fs = std::filesystem;

namespace {

fs::path case_dir(const std::string& name) {
    const char* root = std::getenv("STRATA_CONFORMANCE_DIR");
    REQUIRE_MESSAGE(root != nullptr,
                    "STRATA_CONFORMANCE_DIR is not set: ctest runs generate.py first and sets it");
    return fs::path(root) / name;
}

xt::xarray<double> load(const fs::path& dir, const std::string& key) {
    const fs::path file = dir / (key + ".npy");
    REQUIRE_MESSAGE(fs::exists(file), "missing reference tensor " << file);
    return xt::load_npy<double>(file.string());
}

template <class T>
double tolerance() {
    return sizeof(T) == sizeof(float) ? 1e-5 : 1e-10;
}

template <class T>
void check_close(const std::string& what, const T* got, std::size_t count, const xt::xarray<double>& ref) {
    REQUIRE_MESSAGE(ref.size() == count,
                    what << ": strata has " << count << " values, PyTorch " << ref.size());
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < count; ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(got[i]) - ref.data()[i]));
        scale = std::max(scale, std::abs(ref.data()[i]));
    }
    // Relative to at least 0.1: a small tensor that is a sum of cancelling
    // terms (batch_norm's beta gradient) carries rounding from the terms' scale.
    const double error = worst / std::max(scale, 0.1);
    INFO(what << ": max error " << worst << " relative to max |torch| " << scale);
    CHECK(error <= tolerance<T>());
}

// Visits (layer index, weight span, bias span or empty) for layers with
// parameters; batch_norm's gamma and beta are PyTorch's weight and bias.
template <class Net, class F>
void for_each_parameterised(Net& net, F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using L = typename Net::template layer_type<I>;
                auto& layer = net.template layer<I>();
                if constexpr (requires(const L& l) { l.moving_mean(); })
                    f(I, layer.gamma(), L::channels, layer.beta(), L::channels);
                else if constexpr (L::param_count > 0)
                    f(I, layer.weights(), L::weight_count, layer.bias(), L::bias_count);
            }(),
            ...);
    }
    (std::make_index_sequence<Net::layer_count>{});
}

// Checks batch_norm's moving statistics against Keras' update computed from PyTorch's.
template <class Net>
void check_moving_statistics(const Net& net, const fs::path& dir) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using L = typename Net::template layer_type<I>;
                if constexpr (requires(const L& l) { l.moving_mean(); }) {
                    const auto& layer = net.template layer<I>();
                    const std::string key = "L" + std::to_string(I);
                    check_close(key + ".moving_mean", layer.moving_mean(), L::channels,
                                load(dir, key + ".moving_mean"));
                    check_close(key + ".moving_variance", layer.moving_variance(), L::channels,
                                load(dir, key + ".moving_variance"));
                }
            }(),
            ...);
    }
    (std::make_index_sequence<Net::layer_count>{});
}

template <class Net, class Loss, class Optimizer>
void check_training(const fs::path& dir, const std::string& opt_name, const Loss& loss, const Optimizer& opt,
                    const xt::xarray<typename Net::scalar_type>& x,
                    const xt::xarray<typename Net::scalar_type>& y, Net net) {
    using T = typename Net::scalar_type;
    const std::size_t n = x.shape()[0];
    typename Net::replica r;
    auto state = opt.template make_state<T>(net.parameters().size());
    for (int step = 0; step < 10; ++step) {
        const T* out = net.forward(r, x.data(), n, true, 0, 0);
        r.gradients.fill_zero();
        loss.evaluate(out, y.data(), n, Net::out_shape::size, r.grad_a.data(), T(1) / T(n));
        net.backward(r, x.data(), n, 0, 0);
        opt.step(net.parameters(), std::span<const T>(r.gradients.data(), r.gradients.size()), state);
    }
    for_each_parameterised(net, [&](std::size_t i, const T* w, std::size_t wn, const T* b, std::size_t bn) {
        const std::string key = opt_name + ".L" + std::to_string(i);
        check_close(key + ".weight", w, wn, load(dir, key + ".weight"));
        if (bn) check_close(key + ".bias", b, bn, load(dir, key + ".bias"));
    });
}

template <class Net, class Loss>
void run_case(const std::string& name, const Loss& loss) {
    using T = typename Net::scalar_type;
    const fs::path dir = case_dir(name);
    Net net;
    for_each_parameterised(net, [&](std::size_t i, T* w, std::size_t wn, T* b, std::size_t bn) {
        const auto weight = load(dir, "L" + std::to_string(i) + ".weight");
        REQUIRE(weight.size() == wn);
        std::copy(weight.begin(), weight.end(), w);
        if (bn) {
            const auto bias = load(dir, "L" + std::to_string(i) + ".bias");
            REQUIRE(bias.size() == bn);
            std::copy(bias.begin(), bias.end(), b);
        }
    });
    const xt::xarray<T> x = xt::cast<T>(load(dir, "input"));
    const xt::xarray<T> y = xt::cast<T>(load(dir, "target"));
    const std::size_t n = x.shape()[0];
    REQUIRE(x.size() == n * Net::in_shape::size);

    typename Net::replica r;
    const T* out = net.forward(r, x.data(), n, true, 0, 0);
    check_close("output", out, n * Net::out_shape::size, load(dir, "output"));
    check_moving_statistics(net, dir);
    r.gradients.fill_zero();
    const double loss_sum =
        loss.evaluate(out, y.data(), n, Net::out_shape::size, r.grad_a.data(), T(1) / T(n));
    const T mean_loss = static_cast<T>(loss_sum / static_cast<double>(n));
    check_close("loss", &mean_loss, 1, load(dir, "loss"));
    std::vector<T> input_grad(x.size());
    net.backward(r, x.data(), n, 0, 0, input_grad.data());
    check_close("input_grad", input_grad.data(), input_grad.size(), load(dir, "input_grad"));
    for_each_parameterised(net, [&](std::size_t i, const T* w, std::size_t wn, const T* b, std::size_t bn) {
        const std::size_t offset = static_cast<std::size_t>(w - net.parameters().data());
        const std::string key = "L" + std::to_string(i);
        check_close(key + ".weight.grad", r.gradients.data() + offset, wn, load(dir, key + ".weight.grad"));
        if (bn)
            check_close(key + ".bias.grad", r.gradients.data() + (b - net.parameters().data()), bn,
                        load(dir, key + ".bias.grad"));
    });

    check_training(dir, "sgd_momentum", loss, st::optim::sgd{.lr = 0.05, .momentum = 0.9}, x, y, net);
    check_training(dir, "sgd_nesterov", loss, st::optim::sgd{.lr = 0.05, .momentum = 0.9, .nesterov = true},
                   x, y, net);
    check_training(dir, "sgd_weight_decay", loss,
                   st::optim::sgd{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01}, x, y, net);
    check_training(dir, "adam", loss, st::optim::adam{.lr = 0.01}, x, y, net);
    check_training(dir, "adamw", loss, st::optim::adamw{.lr = 0.01, .weight_decay = 0.1}, x, y, net);
    check_training(
        dir, "rmsprop", loss,
        st::optim::rmsprop{.lr = 0.01, .rho = 0.9, .epsilon = 1e-8, .momentum = 0.5, .centered = true}, x, y,
        net);
    check_training(dir, "adagrad", loss, st::optim::adagrad{.lr = 0.05, .initial_accumulator = 0.1}, x, y,
                   net);
}

}  // namespace

TEST_CASE_TEMPLATE("conv valid + relu, max_pool, flatten, dense; sparse CE from logits", T, float, double) {
    using net_t = st::basic_sequential<T, st::input<8, 8, 3>, st::conv2d<4, 3, st::relu>, st::max_pool<2>,
                                       st::flatten, st::dense<5>>;
    run_case<net_t>("conv_valid_relu", st::loss::sparse_categorical_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE("conv same stride 2 + tanh, avg_pool, dense + sigmoid; binary CE from probabilities", T,
                   float, double) {
    using net_t =
        st::basic_sequential<T, st::input<9, 9, 2>, st::conv2d<5, 3, st::tanh, st::same, st::stride<2>>,
                             st::avg_pool<2>, st::flatten, st::dense<3, st::sigmoid>>;
    run_case<net_t>("conv_same_stride2", st::loss::binary_crossentropy{});
}

TEST_CASE_TEMPLATE(
    "conv same without bias + leaky_relu, global_avg_pool, dense + softmax; sparse CE from probabilities", T,
    float, double) {
    using net_t =
        st::basic_sequential<T, st::input<7, 7, 3>, st::conv2d<6, 3, st::leaky_relu, st::same, st::no_bias>,
                             st::global_avg_pool, st::dense<4, st::softmax>>;
    run_case<net_t>("conv_same_nobias", st::loss::sparse_categorical_crossentropy{});
}

TEST_CASE_TEMPLATE("conv same + relu, global_max_pool, dense; sparse CE from logits", T, float, double) {
    using net_t = st::basic_sequential<T, st::input<6, 7, 3>, st::conv2d<5, 3, st::relu, st::same>,
                                       st::global_max_pool, st::dense<4>>;
    run_case<net_t>("conv_global_max_pool", st::loss::sparse_categorical_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE("zero_padding, nearest and bilinear upsample between convs; sparse CE from logits", T,
                   float, double) {
    using net_t =
        st::basic_sequential<T, st::input<4, 5, 2>, st::conv2d<3, 3, st::tanh, st::same>, st::zero_padding<1>,
                             st::upsample<2>, st::conv2d<4, 3, st::relu, st::stride<2>>,
                             st::upsample<2, st::bilinear>, st::global_avg_pool, st::dense<3>>;
    run_case<net_t>("upsample_zero_padding", st::loss::sparse_categorical_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE("conv stride 2 even kernel + elu, dense without bias; categorical CE from logits", T,
                   float, double) {
    using net_t =
        st::basic_sequential<T, st::input<10, 10, 2>, st::conv2d<4, 4, st::elu, st::valid, st::stride<2>>,
                             st::flatten, st::dense<6, st::identity, st::no_bias>>;
    run_case<net_t>("conv_stride2_even_kernel", st::loss::categorical_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE(
    "stand-alone activation layers (sigmoid, softmax over channels, tanh, elu); mean squared error", T, float,
    double) {
    using net_t =
        st::basic_sequential<T, st::input<6, 6, 2>, st::conv2d<3, 3, st::identity, st::same>, st::sigmoid,
                             st::max_pool<3>, st::softmax, st::flatten, st::dense<3>, st::tanh, st::elu>;
    run_case<net_t>("standalone_activations", st::loss::mean_squared_error{});
}

TEST_CASE_TEMPLATE("multi-layer perceptron with leaky_relu; binary CE from logits", T, float, double) {
    using net_t = st::basic_sequential<T, st::input<12>, st::dense<8, st::sigmoid>, st::leaky_relu,
                                       st::dense<8, st::relu>, st::dense<2>>;
    run_case<net_t>("mlp", st::loss::binary_crossentropy{.from_logits = true});
}

TEST_CASE_TEMPLATE(
    "conv same even kernel, overlapping max_pool, dense + softmax; categorical CE from probabilities", T,
    float, double) {
    using net_t = st::basic_sequential<T, st::input<5, 5, 2>, st::conv2d<4, 2, st::relu, st::same>,
                                       st::max_pool<2, 1>, st::flatten, st::dense<3, st::softmax>>;
    run_case<net_t>("conv_same_even_kernel_probs", st::loss::categorical_crossentropy{});
}

TEST_CASE_TEMPLATE("batch_norm after a convolution and after a dense layer, in training mode", T, float,
                   double) {
    using net_t = st::basic_sequential<T, st::input<6, 6, 3>, st::conv2d<5, 3, st::relu, st::no_bias>,
                                       st::batch_norm, st::max_pool<2>, st::flatten, st::dense<6, st::tanh>,
                                       st::batch_norm, st::dense<3>>;
    run_case<net_t>("batch_norm", st::loss::sparse_categorical_crossentropy{.from_logits = true});
}
