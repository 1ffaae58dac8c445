// diagnostics: a callback that records, per epoch and per trainable tensor,
// the weight norm, how far the epoch moved the weights, and the size of one
// optimizer step relative to the weights (measured on one step in
// probe_every). The cost is a copy of the parameters per probe and per
// epoch: a training step costs at least ~6 x batch x parameters operations,
// a probe ~3 x parameters every probe_every steps, so well under 1% of an
// epoch. diagnose reads the records as evidence for the learning-rate
// findings.
//
// Gradient norms, dead ReLUs and saturation are not recorded: training_state
// exposes the weights but not the gradients or a batch's activations.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../model/visit.hpp"
#include "../train/history.hpp"

namespace strata {

struct tensor_diagnostics {
    std::string name;  // "<index>_<layer>.<tensor>", e.g. "0_conv2d.weight"
    std::size_t count = 0;
    bool kernel = false;                 // a kernel (not a bias or a batch_norm scale)
    double norm = 0;                     // L2 norm of the weights at the epoch's end
    double epoch_change = not_measured;  // ||w_end - w_start|| / ||w_start|| over the epoch
    double update_ratio = not_measured;  // ||one step's update|| / ||w||, mean over the probed steps
    bool finite = true;                  // every weight finite
};

struct epoch_diagnostics {
    std::size_t epoch = 0;  // 1-based
    double learning_rate = not_measured;
    std::size_t probed_steps = 0;
    std::vector<tensor_diagnostics> tensors;

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

struct diagnostics {
    std::size_t probe_every = 25;  // one optimizer step in this many is measured
    // Shared: fit copies its callbacks, and the caller reads the records afterwards.
    std::shared_ptr<std::vector<epoch_diagnostics>> records =
        std::make_shared<std::vector<epoch_diagnostics>>();

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
    }

    template <class State>
    void on_batch_end(State& s) {
        const auto params = s.parameters();
        if (probe_pending_ && s.step() == probe_step_ + 1) {
            for (std::size_t k = 0; k < layout_.size(); ++k) {
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
            e.tensors.push_back(std::move(t));
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
    std::vector<double> epoch_start_{}, probe_copy_{}, ratio_sums_{};
    std::vector<std::size_t> ratio_counts_{};
    std::size_t probe_step_ = 0, probed_ = 0;
    bool probe_pending_ = false;

private:
    void reset_sums() {
        ratio_sums_.assign(layout_.size(), 0.0);
        ratio_counts_.assign(layout_.size(), 0);
        probed_ = 0;
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
