#pragma once

// Conformance with PyTorch: each case runs a strata network on the weights,
// inputs and targets that tests/conformance/generate.py wrote (with PyTorch,
// in float64) and compares outputs, loss, every gradient and the weights
// after 10 optimizer steps. Errors are measured per tensor as
// max |strata - torch| / max(max |torch|, 0.1); float must agree to 1e-5,
// double to 1e-10 (centered RMSprop's trajectory in float through the deeper
// composite cases: 2e-4, see check_training). The tests are split over translation units to build in
// parallel.
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
void check_close(const std::string& what, const T* got, std::size_t count, const xt::xarray<double>& ref,
                 double float_tolerance = 1e-5) {
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
    CHECK(error <= (sizeof(T) == sizeof(float) ? float_tolerance : tolerance<T>()));
}

// f(key, tensor) for every tensor of net, keyed as generate.py saves it:
// strata's path and tensor name (0_conv2d.weight, 1_residual.1_batch_norm.gamma).
template <class Net, class F>
void for_each_keyed_tensor(Net& net, F&& f) {
    st::for_each_tensor(net, [&](const st::layer_path& path, const auto& t) {
        f(path.to_string() + "." + std::string(t.name), t);
    });
}

// Checks batch_norm's moving statistics against Keras' update computed from PyTorch's.
template <class Net>
void check_moving_statistics(const Net& net, const fs::path& dir) {
    for_each_keyed_tensor(net, [&](const std::string& key, const auto& t) {
        if (!t.trainable) check_close(key, t.data, t.count, load(dir, key));
    });
}

// float_tolerance: centered RMSprop divides by the standard deviation of each
// gradient over the steps, tiny on a fixed batch, so it multiplies float's
// rounding in the gradients (themselves within 1e-5) by 10-20 in the deeper
// composite cases; double still agrees to 1e-10.
template <class Net, class Loss, class Optimizer>
void check_training(const fs::path& dir, const std::string& opt_name, const Loss& loss, const Optimizer& opt,
                    const xt::xarray<typename Net::scalar_type>& x,
                    const xt::xarray<typename Net::scalar_type>& y, Net net, double float_tolerance = 1e-5) {
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
    for_each_keyed_tensor(net, [&](const std::string& key, const auto& t) {
        if (t.trainable)
            check_close(opt_name + "." + key, t.data, t.count, load(dir, opt_name + "." + key),
                        float_tolerance);
    });
}

template <class Net, class Loss>
void run_case(const std::string& name, const Loss& loss, double rmsprop_float_tolerance = 1e-5) {
    using T = typename Net::scalar_type;
    const fs::path dir = case_dir(name);
    Net net;
    std::size_t loaded = 0;
    for_each_keyed_tensor(net, [&](const std::string& key, const auto& t) {
        if (!t.trainable) return;
        const auto values = load(dir, key);
        REQUIRE_MESSAGE(values.size() == t.count, key);
        std::copy(values.begin(), values.end(), t.data);
        ++loaded;
    });
    // Every parameter PyTorch saved has a strata tensor of the same path.
    std::size_t saved = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string file = entry.path().filename().string();
        if (file.ends_with(".grad.npy")) ++saved;
    }
    CHECK(loaded == saved);
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
    for_each_keyed_tensor(net, [&](const std::string& key, const auto& t) {
        if (!t.trainable) return;
        const auto offset = static_cast<std::size_t>(t.data - net.parameters().data());
        check_close(key + ".grad", r.gradients.data() + offset, t.count, load(dir, key + ".grad"));
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
        net, rmsprop_float_tolerance);
    check_training(dir, "adagrad", loss, st::optim::adagrad{.lr = 0.05, .initial_accumulator = 0.1}, x, y,
                   net);
}

}  // namespace
