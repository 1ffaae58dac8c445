// Checks a bound layer's backward against central finite differences in
// double precision: the layer's output is reduced to a scalar with fixed
// random weights, and every input and parameter gradient is compared.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include <doctest/doctest.h>
#include <strata/core/aligned_buffer.hpp>
#include <strata/core/random.hpp>
#include <strata/layers/layer.hpp>

namespace strata::testing {

struct gradient_report {
    double max_input_error = 0, max_param_error = 0;
    std::size_t input_checks = 0, param_checks = 0;
};

// |a - b| relative to the larger magnitude, or absolute below 1.
inline double relative_error(double a, double b) {
    return std::abs(a - b) / std::max({1.0, std::abs(a), std::abs(b)});
}

template <class Spec, class InShape>
gradient_report check_gradients(std::size_t n = 2, std::uint64_t seed_value = 1, bool training = true,
                                double input_range = 1.0) {
    using L = typename Spec::template bind<double, InShape>;
    constexpr std::size_t in_size = InShape::size, out_size = L::out_shape::size;
    L layer;
    aligned_buffer<double> params(std::max<std::size_t>(L::param_count, 1));
    layer.bind_parameters(params.data());
    constexpr std::size_t state_count = [] {
        if constexpr (requires { L::state_count; })
            return L::state_count;
        else
            return std::size_t{0};
    }();
    aligned_buffer<double> state(std::max<std::size_t>(state_count, 1));
    if constexpr (state_count > 0) layer.bind_state(state.data());
    rng r(seed_value);
    layer.initialize(r);
    // Non-zero biases too, so their gradient paths are exercised; moving
    // statistics move away from 0 and 1 but stay positive.
    for (std::size_t i = 0; i < L::param_count; ++i) params[i] += r.uniform(-0.3, 0.3);
    for (std::size_t i = 0; i < state_count; ++i) state[i] += r.uniform(0.1, 0.5);

    aligned_buffer<double> x(n * in_size), weights(n * out_size), out(n * out_size),
        workspace(std::max<std::size_t>(L::workspace_size(n), 1));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = r.uniform(-input_range, input_range);
    for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = r.uniform(-1, 1);
    const pass_context<double> ctx{training, 777, 0, 3, workspace.data()};

    auto objective = [&] {
        layer.forward(x.data(), out.data(), n, ctx);
        double f = 0;
        for (std::size_t i = 0; i < out.size(); ++i) f += out[i] * weights[i];
        return f;
    };

    objective();
    aligned_buffer<double> dout(weights), din(n * in_size), dparams(std::max<std::size_t>(L::param_count, 1));
    layer.backward(x.data(), out.data(), dout.data(), din.data(), dparams.data(), n, ctx);

    constexpr double h = 1e-6;
    auto numeric = [&](double& v) {
        const double saved = v;
        v = saved + h;
        const double up = objective();
        v = saved - h;
        const double down = objective();
        v = saved;
        return (up - down) / (2 * h);
    };
    gradient_report rep;
    // Every value for small layers; an even spread of 400 for large ones.
    auto indices = [](std::size_t count) {
        std::vector<std::size_t> idx;
        const std::size_t step = std::max<std::size_t>(1, count / 400);
        for (std::size_t i = 0; i < count; i += step) idx.push_back(i);
        return idx;
    };
    for (std::size_t i : indices(x.size())) {
        const double e = relative_error(din[i], numeric(x[i]));
        rep.max_input_error = std::max(rep.max_input_error, e);
        ++rep.input_checks;
    }
    for (std::size_t i : indices(L::param_count)) {
        const double e = relative_error(dparams[i], numeric(params[i]));
        rep.max_param_error = std::max(rep.max_param_error, e);
        ++rep.param_checks;
    }
    return rep;
}

template <class Spec, class InShape>
void require_gradients_match(std::size_t n = 2, std::uint64_t seed_value = 1, double input_range = 1.0,
                             bool training = true) {
    const auto rep = check_gradients<Spec, InShape>(n, seed_value, training, input_range);
    INFO("input checks: " << rep.input_checks << ", max error " << rep.max_input_error);
    INFO("param checks: " << rep.param_checks << ", max error " << rep.max_param_error);
    CHECK(rep.input_checks > 0);
    CHECK(rep.max_input_error < 1e-7);
    CHECK(rep.max_param_error < 1e-7);
}

}  // namespace strata::testing
