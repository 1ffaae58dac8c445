// diagnostics: a callback that records, per epoch and per trainable tensor,
// the weight norm, how far the epoch moved the weights, the gradient norm and
// the size of one optimizer step relative to the weights (both measured on
// one step in probe_every); and, given probe_inputs, per layer with a ReLU,
// sigmoid or tanh activation, the units that never activate and the outputs
// stuck at an asymptote, from an inference pass over the probe samples at
// each epoch's end. diagnose reads the records as evidence for the
// learning-rate, dead-unit, saturation and gradient findings.
//
// Cost: a copy of the parameters per probe and per epoch (a training step
// costs at least ~6 x batch x parameters operations, a probe ~4 x
// parameters every probe_every steps) and one forward pass over the probe
// samples per epoch; RESULTS.md measures it against an epoch.
//
// Activations are read from the network's own layers: a composite (chain,
// residual, skip_concat) keeps its children's outputs to itself, so units
// inside one are not probed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/shape.hpp"
#include "../data/dataset.hpp"
#include "../model/visit.hpp"
#include "../train/history.hpp"

namespace strata {

struct tensor_diagnostics {
    std::string name;  // "<index>_<layer>.<tensor>", e.g. "0_conv2d.weight"
    std::size_t count = 0;
    bool kernel = false;                  // a kernel (not a bias or a batch_norm scale)
    double norm = 0;                      // L2 norm of the weights at the epoch's end
    double epoch_change = not_measured;   // ||w_end - w_start|| / ||w_start|| over the epoch
    double update_ratio = not_measured;   // ||one step's update|| / ||w||, mean over the probed steps
    double gradient_norm = not_measured;  // ||one step's gradient||, mean over the probed steps
    bool finite = true;                   // every weight finite

    // ||gradient|| / ||w||: how hard one step pulls at this tensor, comparable across layers.
    double relative_gradient() const noexcept { return norm > 0 ? gradient_norm / norm : not_measured; }
};

// One layer's outputs over the probe samples (inference mode), for layers
// with a ReLU, sigmoid or tanh activation.
struct layer_activity {
    std::string name;        // "<index>_<layer>", e.g. "3_dense"
    std::string activation;  // "relu", "sigmoid" or "tanh"
    std::size_t units = 0;   // channels of a convolution, units of a dense layer
    // ReLU: units whose output is 0 for every probe sample (and position):
    // they pass no signal and, with no gradient, never recover.
    std::size_t dead = 0;
    // sigmoid, tanh: the share of outputs within saturation_margin of an
    // asymptote, where the derivative is under ~2% of its peak.
    double saturated = not_measured;

    double dead_fraction() const noexcept {
        return units ? static_cast<double>(dead) / static_cast<double>(units) : 0.0;
    }
};

struct epoch_diagnostics {
    std::size_t epoch = 0;  // 1-based; 0: before training (layer activity only, with probe_inputs)
    double learning_rate = not_measured;
    std::size_t probed_steps = 0;
    std::size_t probe_samples = 0;  // samples the activity was measured on (0: no probe_inputs)
    std::vector<tensor_diagnostics> tensors{};
    std::vector<layer_activity> layers{};

    bool finite() const noexcept {
        return std::all_of(tensors.begin(), tensors.end(),
                           [](const tensor_diagnostics& t) { return t.finite; });
    }
    // The median over kernels of their update ratio (NaN if none was probed).
    double median_kernel_update_ratio() const {
        std::vector<double> r;
        for (const auto& t : tensors)
            if (t.kernel && std::isfinite(t.update_ratio)) r.push_back(t.update_ratio);
        if (r.empty()) return not_measured;
        std::sort(r.begin(), r.end());
        return r.size() % 2 ? r[r.size() / 2] : (r[r.size() / 2 - 1] + r[r.size() / 2]) / 2;
    }
};

// Outputs this close to an activation's asymptote count as saturated:
// sigmoid'(x) = s(1 - s) < 0.01 there (4% of its peak 0.25), tanh'(x) = 1 - t^2 < 0.02.
inline constexpr double saturation_margin = 0.01;

struct diagnostics {
    std::size_t probe_every = 25;  // one optimizer step in this many is measured
    // Samples laid out like a dataset's x (N x the network's input size) on
    // which each epoch's layer activity is measured; empty: not measured.
    // first_samples(train) takes them from the training data.
    std::vector<float> probe_inputs{};
    // Shared: fit copies its callbacks, and the caller reads the records afterwards.
    std::shared_ptr<std::vector<epoch_diagnostics>> records =
        std::make_shared<std::vector<epoch_diagnostics>>();

    // The first n samples of data (all of them if it holds fewer), for probe_inputs.
    static std::vector<float> first_samples(const data::dataset<float>& data, std::size_t n = 256) {
        const std::size_t take = std::min(n, data.size());
        return {data.x.data(), data.x.data() + take * data.sample_size()};
    }

    template <class State>
    void on_train_begin(State& s) {
        records->clear();
        layout_.clear();
        const auto params = s.parameters();
        for_each_tensor(s.network(), [&](const layer_path& path, const auto& t) {
            if (!t.trainable) return;
            layout_.push_back({path.to_string() + "." + std::string(t.name),
                               static_cast<std::size_t>(t.data - params.data()), t.count, t.kernel});
        });
        epoch_start_.assign(params.begin(), params.end());
        probe_pending_ = false;
        reset_sums();
        // Epoch 0: the activity before the first step, so units dead from the
        // start (initialisation) tell apart from units training killed.
        if (!probe_inputs.empty()) {
            epoch_diagnostics start;  // epoch 0
            start.layers = activity(s.network());
            start.probe_samples = probe_samples_;
            records->push_back(std::move(start));
        }
    }

    template <class State>
    void on_batch_end(State& s) {
        const auto params = s.parameters();
        if (probe_pending_ && s.step() == probe_step_ + 1) {
            const auto gradients = s.gradients();
            for (std::size_t k = 0; k < layout_.size(); ++k) {
                if (gradients.size() == params.size()) {
                    gradient_sums_[k] += norm(gradients.subspan(layout_[k].offset, layout_[k].count));
                    ++gradient_counts_[k];
                }
                const double before =
                    norm(std::span<const double>(probe_copy_).subspan(layout_[k].offset, layout_[k].count));
                if (before > 0) {
                    ratio_sums_[k] += distance(params, probe_copy_, layout_[k]) / before;
                    ++ratio_counts_[k];
                }
            }
            ++probed_;
        }
        probe_pending_ = false;
        if (probe_every > 0 && s.step() % probe_every == 0) {
            probe_copy_.assign(params.begin(), params.end());
            probe_step_ = s.step();
            probe_pending_ = true;
        }
    }

    template <class State>
    void on_epoch_end(State& s) {
        const auto params = s.parameters();
        epoch_diagnostics e;
        e.epoch = s.epoch();
        e.learning_rate = s.logs().learning_rate;
        e.probed_steps = probed_;
        for (std::size_t k = 0; k < layout_.size(); ++k) {
            const auto& l = layout_[k];
            tensor_diagnostics t{.name = l.name, .count = l.count, .kernel = l.kernel};
            const auto w = params.subspan(l.offset, l.count);
            t.finite =
                std::all_of(w.begin(), w.end(), [](auto v) { return std::isfinite(static_cast<double>(v)); });
            t.norm = norm(w);
            const double start = norm(std::span<const double>(epoch_start_).subspan(l.offset, l.count));
            if (start > 0) t.epoch_change = distance(params, epoch_start_, l) / start;
            if (ratio_counts_[k] > 0) t.update_ratio = ratio_sums_[k] / static_cast<double>(ratio_counts_[k]);
            if (gradient_counts_[k] > 0)
                t.gradient_norm = gradient_sums_[k] / static_cast<double>(gradient_counts_[k]);
            e.tensors.push_back(std::move(t));
        }
        if (!probe_inputs.empty()) {
            e.layers = activity(s.network());
            e.probe_samples = probe_samples_;
        }
        records->push_back(std::move(e));
        epoch_start_.assign(params.begin(), params.end());
        reset_sums();
    }

    // Kept during training (public only so the options above can be designated).
    struct slice {
        std::string name;
        std::size_t offset = 0, count = 0;
        bool kernel = false;
    };
    std::vector<slice> layout_{};
    std::vector<double> epoch_start_{}, probe_copy_{}, ratio_sums_{}, gradient_sums_{};
    std::vector<std::size_t> ratio_counts_{}, gradient_counts_{};
    std::size_t probe_step_ = 0, probed_ = 0, probe_samples_ = 0;
    bool probe_pending_ = false;

private:
    void reset_sums() {
        ratio_sums_.assign(layout_.size(), 0.0);
        ratio_counts_.assign(layout_.size(), 0);
        gradient_sums_.assign(layout_.size(), 0.0);
        gradient_counts_.assign(layout_.size(), 0);
        probed_ = 0;
    }

    // Each probed layer's dead units or saturation over probe_inputs, in
    // chunks so the activations stay small.
    template <class Net>
    std::vector<layer_activity> activity(const Net& net) {
        std::vector<layer_activity> out;
        if constexpr (requires { typename Net::replica; }) {
            using T = typename Net::scalar_type;
            constexpr std::size_t sample = Net::in_shape::size, chunk = 64;
            if (probe_inputs.size() % sample != 0)
                throw usage_error("diagnostics: probe_inputs holds " + std::to_string(probe_inputs.size()) +
                                  " values, not a whole number of samples of " + std::to_string(sample) +
                                  " (the network's input " + Net::in_shape::to_string() + ")");
            const std::size_t n = probe_inputs.size() / sample;
            probe_samples_ = n;
            // Per probed layer and unit: the largest output (ReLU), and saturated outputs (sigmoid, tanh).
            std::vector<std::vector<double>> largest(Net::layer_count);
            std::vector<std::size_t> saturated(Net::layer_count, 0), outputs(Net::layer_count, 0);
            typename Net::replica buffers;
            std::vector<T> x(chunk * sample);
            for (std::size_t first = 0; first < n; first += chunk) {
                const std::size_t count = std::min(chunk, n - first);
                std::transform(probe_inputs.begin() + static_cast<std::ptrdiff_t>(first * sample),
                               probe_inputs.begin() + static_cast<std::ptrdiff_t>((first + count) * sample),
                               x.begin(), [](float v) { return static_cast<T>(v); });
                net.forward(buffers, x.data(), count, /*training=*/false, /*step_seed=*/0, first);
                [&]<std::size_t... I>(std::index_sequence<I...>) {
                    (tally<Net, I>(buffers.output(I), count, largest[I], saturated[I], outputs[I]), ...);
                }
                (std::make_index_sequence<Net::layer_count>{});
            }
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (summarise<Net, I>(largest[I], saturated[I], outputs[I], out), ...);
            }
            (std::make_index_sequence<Net::layer_count>{});
        }
        return out;
    }

    template <class Layer>
    static constexpr std::string_view activation_name() {
        if constexpr (requires { typename Layer::activation; }) {
            constexpr std::string_view a = Layer::activation::name;
            if constexpr (a == "relu" || a == "sigmoid" || a == "tanh") return a;
        }
        return {};
    }
    template <class Shape>
    static constexpr std::size_t units_of() {
        return Shape::rank == 3 ? channels_of<Shape> : Shape::size;
    }

    template <class Net, std::size_t I, class T>
    static void tally(const T* y, std::size_t count, std::vector<double>& largest, std::size_t& saturated,
                      std::size_t& outputs) {
        using L = typename Net::template layer_type<I>;
        constexpr std::string_view a = activation_name<L>();
        if constexpr (!a.empty()) {
            using S = typename L::out_shape;
            constexpr std::size_t units = units_of<S>();
            const std::size_t positions = count * (S::size / units);  // units are the fastest axis
            if constexpr (a == "relu") {
                largest.resize(units, -std::numeric_limits<double>::infinity());
                std::vector<T> top(units, -std::numeric_limits<T>::infinity());
                for (std::size_t p = 0; p < positions; ++p)
                    for (std::size_t u = 0; u < units; ++u) top[u] = std::max(top[u], y[p * units + u]);
                for (std::size_t u = 0; u < units; ++u)
                    largest[u] = std::max(largest[u], static_cast<double>(top[u]));
            } else {
                const T low = a == "sigmoid" ? T(0) : T(-1), margin = static_cast<T>(saturation_margin);
                const std::size_t values = positions * units;
                for (std::size_t i = 0; i < values; ++i)
                    saturated += y[i] <= low + margin || y[i] >= T(1) - margin;
                outputs += values;
            }
        }
    }

    template <class Net, std::size_t I>
    static void summarise(const std::vector<double>& largest, std::size_t saturated, std::size_t outputs,
                          std::vector<layer_activity>& out) {
        using L = typename Net::template layer_type<I>;
        constexpr std::string_view a = activation_name<L>();
        if constexpr (!a.empty()) {
            layer_activity l{.name = std::to_string(I) + "_" + std::string(L::name),
                             .activation = std::string(a),
                             .units = units_of<typename L::out_shape>()};
            if constexpr (a == "relu")
                l.dead = static_cast<std::size_t>(
                    std::count_if(largest.begin(), largest.end(), [](double v) { return v <= 0; }));
            else if (outputs > 0)
                l.saturated = static_cast<double>(saturated) / static_cast<double>(outputs);
            out.push_back(std::move(l));
        }
    }
    template <class V>
    static double norm(std::span<V> w) {
        double s = 0;
        for (const auto v : w) s += static_cast<double>(v) * static_cast<double>(v);
        return std::sqrt(s);
    }
    template <class V>
    static double distance(std::span<V> params, const std::vector<double>& copy, const slice& l) {
        double s = 0;
        for (std::size_t i = 0; i < l.count; ++i) {
            const double d = static_cast<double>(params[l.offset + i]) - copy[l.offset + i];
            s += d * d;
        }
        return std::sqrt(s);
    }
};

}  // namespace strata
