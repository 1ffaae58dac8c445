// The training loop in two parts: trainer::step does one optimizer step on a
// batch (forward, loss, backward, weight penalties, clipping, the optimizer
// and the guard against NaN/Inf), and trainer::run is the epoch loop that
// reads batches from a data source in a sampler's order, validates, and
// calls the callbacks. fit only sorts its options into these.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <signal.h>

#include "../augment/transform.hpp"
#include "../core/aligned_buffer.hpp"
#include "../core/error.hpp"
#include "../core/metric.hpp"
#include "../core/random.hpp"
#include "../core/simd.hpp"
#include "../data/dataset.hpp"
#include "../data/source.hpp"
#include "../metrics/metrics.hpp"
#include "../optim/clip.hpp"
#include "../optim/optimizer.hpp"
#include "../optim/schedule.hpp"
#include "callbacks.hpp"
#include "executor.hpp"
#include "history.hpp"
#include "penalties.hpp"

namespace strata {

// What a trainer needs besides the network, loss and optimizer.
template <class T>
struct train_settings {
    threads thread_count{};
    std::uint64_t seed_value = 0;                // dropout masks and augmentation; shuffling is the sampler's
    detail::tensor_penalty<T> global_penalty{};  // on every kernel
    std::function<double(const schedule_point&)> learning_rate_at{};
    std::function<void(const epoch_record&)> schedule_observe{};
    std::optional<metric> schedule_monitor{};
    std::function<void(const T*, T*, std::size_t, augment::image_shape, std::uint64_t, std::size_t)>
        augmentation{};
    // The same geometric maps on segmentation masks: (in, out, count, mask
    // shape, seed, first sample's position in the batch, fill label).
    std::function<void(const T*, T*, std::size_t, augment::image_shape, std::uint64_t, std::size_t, double)>
        mask_augmentation{};
    // Keras' class_weight (indexed by class) and sample_weight (by sample, in
    // the training data's order); a sample's weight is the product of both.
    std::vector<double> class_weight{}, sample_weight{};
    std::vector<metrics::any_metric<T>> metrics{};  // metric policies
    std::optional<any_communicator> comm{};         // data-parallel training over its processes
    bool synchronise_batch_norm = true;             // with comm: batch statistics across processes
};

namespace detail {

// Where a binary classifier's single output crosses from class 0 to 1.
template <class Loss>
double decision_threshold(const Loss& loss) {
    if constexpr (requires { loss.from_logits; })
        return loss.from_logits ? 0.0 : 0.5;
    else
        return 0.5;
}

// The metric policies over one pass (an epoch's training batches, or a data
// set), batch by batch: batched metrics keep a running tally, and every
// output of the pass is kept only for the metrics that need them all.
template <class T>
class metric_pass {
public:
    metric_pass(const std::vector<metrics::any_metric<T>>& policies, std::size_t width,
                std::size_t target_width, double threshold)
        : policies_(policies), width_(width), target_width_(target_width), threshold_(threshold) {}

    void begin(std::size_t samples) {
        tallies_.clear();
        bool whole = false;
        for (const auto& m : policies_) {
            tallies_.push_back(m.start());
            whole = whole || !m.batched();
        }
        outputs_.resize(whole ? samples * width_ : 0);
        targets_.resize(whole ? samples * target_width_ : 0);
        seen_ = 0;
    }
    void add(const T* outputs, const T* targets, std::size_t count) {
        const auto batch = predictions_of(outputs, targets, count);
        for (auto& t : tallies_)
            if (t) t->add(batch);
        if (!outputs_.empty()) {
            std::copy_n(outputs, count * width_, outputs_.data() + seen_ * width_);
            std::copy_n(targets, count * target_width_, targets_.data() + seen_ * target_width_);
        }
        seen_ += count;
    }
    // Each policy's value, as prefix + name.
    void record(std::vector<std::pair<std::string, double>>& into, const std::string& prefix) const {
        const auto whole = predictions_of(outputs_.data(), targets_.data(), outputs_.empty() ? 0 : seen_);
        for (std::size_t i = 0; i < policies_.size(); ++i)
            into.emplace_back(prefix + policies_[i].name(),
                              tallies_[i] ? tallies_[i]->result() : policies_[i](whole));
    }

    // count rows of outputs and targets, read as this pass reads them.
    metrics::predictions<T> predictions_of(const T* outputs, const T* targets, std::size_t count) const {
        return {.outputs = std::span<const T>(outputs, count * width_),
                .targets = std::span<const T>(targets, count * target_width_),
                .count = count,
                .width = width_,
                .target_width = target_width_,
                .threshold = threshold_};
    }

private:
    const std::vector<metrics::any_metric<T>>& policies_;
    std::size_t width_, target_width_;
    double threshold_;
    std::vector<std::unique_ptr<typename metrics::any_metric<T>::tally>> tallies_;
    std::vector<T> outputs_, targets_;
    std::size_t seen_ = 0;
};

}  // namespace detail

// Where a resumed run starts: the epochs already done and their history.
struct resume_point {
    std::size_t epochs_done = 0;
    history past{};
};

// The outcome of one step. On failure the weights and running statistics are
// those from before the step, and failure/advice say what happened.
struct step_result {
    double loss_sum = 0;      // per-sample losses plus the penalty, summed over the batch
    double accuracy_sum = 0;  // per-sample accuracies, summed
    std::string failure, advice;

    bool ok() const noexcept { return failure.empty(); }
};

namespace detail {

inline std::atomic<int> sigint_count{0};  // lock-free, so the handler may touch it

// The first SIGINT asks training to stop after the current step; a second
// one exits at once, as if no handler were installed.
inline void count_sigint(int) {
    if (sigint_count.fetch_add(1) >= 1) {
        ::signal(SIGINT, SIG_DFL);
        ::raise(SIGINT);
    }
}

// Catches SIGINT while training runs, only where nobody else handles it:
// a program with its own handler keeps it, and an ignored SIGINT (nohup,
// background jobs) stays ignored.
class sigint_catcher {
public:
    sigint_catcher() {
        if (::sigaction(SIGINT, nullptr, &previous_) != 0 || previous_.sa_handler != SIG_DFL) return;
        sigint_count = 0;
        struct sigaction mine {};
        mine.sa_handler = count_sigint;
        sigemptyset(&mine.sa_mask);
        mine.sa_flags = SA_RESTART;
        installed_ = ::sigaction(SIGINT, &mine, nullptr) == 0;
    }
    ~sigint_catcher() {
        if (installed_) ::sigaction(SIGINT, &previous_, nullptr);
    }
    sigint_catcher(const sigint_catcher&) = delete;
    sigint_catcher& operator=(const sigint_catcher&) = delete;

    bool caught() const noexcept { return installed_ && sigint_count.load() > 0; }

private:
    struct sigaction previous_ {};
    bool installed_ = false;
};

}  // namespace detail

namespace detail {

// Each sample's weight: its class's weight times its own (either may be absent).
template <class T, class SampleIndex>
void sample_weights_of(const T* y, std::size_t width, std::size_t count, std::span<const double> class_weight,
                       std::span<const double> sample_weight, SampleIndex index_of, T* out) {
    for (std::size_t k = 0; k < count; ++k) {
        double w = 1;
        if (!sample_weight.empty()) w *= sample_weight[index_of(k)];
        if (!class_weight.empty()) {
            const std::size_t c = data::class_index(y + k * width, width);
            if (c >= class_weight.size())
                throw usage_error("class_weights: sample " + std::to_string(index_of(k)) + " has class " +
                                  std::to_string(c) + " but weights were given for " +
                                  std::to_string(class_weight.size()) + " classes");
            w *= class_weight[c];
        }
        out[k] = static_cast<T>(w);
    }
}

}  // namespace detail

// What evaluate measures over a data set.
struct evaluation {
    double loss = not_measured;
    double accuracy = not_measured;
    std::size_t samples = 0;
    // Classification losses: rows are true classes, columns predicted ones;
    // per-pixel losses: the same over every pixel.
    metrics::confusion_matrix confusion{};
    // Losses with one target per output (regression).
    double mean_absolute_error = not_measured, mean_squared_error = not_measured;
    // The metric policies given to evaluate, by name.
    std::vector<std::pair<std::string, double>> metrics{};
};

// With weights, the loss is Keras' weighted mean sum(w_i loss_i) / N; the accuracy stays unweighted.
// With on_batch, each batch's outputs and targets are shown to it: (outputs, targets, count).
template <class Net, class T, class Loss>
evaluation evaluate_with(executor<Net>& exec, const Net& net, const data::dataset<T>& d, const Loss& loss,
                         std::size_t batch, std::span<const double> class_weight = {},
                         std::span<const double> sample_weight = {},
                         const std::function<void(const T*, const T*, std::size_t)>& on_batch = {},
                         const std::optional<any_communicator>& comm = {}) {
    constexpr std::size_t in = Net::in_shape::size, out = Net::out_shape::size;
    // Data-parallel: each process runs its share of every batch; the sums,
    // and the outputs when on_batch reads them, are then summed across processes.
    const std::size_t ranks = comm ? static_cast<std::size_t>(comm->size()) : 1;
    const std::size_t rank = comm ? static_cast<std::size_t>(comm->rank()) : 0;
    std::vector<T> outputs(on_batch ? std::min(batch, d.size()) * out : 0);
    const std::size_t tw = loss.target_width(out);
    const bool weighted = !class_weight.empty() || !sample_weight.empty();
    std::vector<T> weights(weighted ? std::min(batch, d.size()) : 0);
    double loss_sum = 0, accuracy_sum = 0;
    for (std::size_t first = 0; first < d.size(); first += batch) {
        const std::size_t n = std::min(batch, d.size() - first);
        const std::size_t lo = rank * n / ranks, hi = (rank + 1) * n / ranks;
        if (weighted)
            detail::sample_weights_of(
                d.y.data() + (first + lo) * tw, tw, hi - lo, class_weight, sample_weight,
                [first, lo](std::size_t k) { return first + lo + k; }, weights.data());
        const T* targets = d.y.data() + first * tw;
        if (on_batch && ranks > 1) std::fill_n(outputs.begin(), n * out, T(0));
        if (hi > lo) {
            const auto s = exec.evaluate_batch(net, d.x.data() + (first + lo) * in, targets + lo * tw,
                                               hi - lo, loss, weighted ? weights.data() : nullptr,
                                               on_batch ? outputs.data() + lo * out : nullptr);
            loss_sum += s.loss_sum;
            accuracy_sum += s.accuracy_sum;
        }
        if (on_batch) {
            if (ranks > 1) comm->all_reduce(std::span<T>(outputs.data(), n * out));
            on_batch(outputs.data(), targets, n);
        }
    }
    if (ranks > 1) {
        std::array<double, 2> sums{loss_sum, accuracy_sum};
        comm->all_reduce(std::span<double>(sums));
        loss_sum = sums[0];
        accuracy_sum = sums[1];
    }
    const double count = static_cast<double>(d.size());
    return {loss_sum / count, Loss::has_accuracy ? accuracy_sum / count : not_measured, d.size()};
}

template <class Net, class Loss, class Optimizer>
class trainer {
public:
    using T = typename Net::scalar_type;
    static constexpr std::size_t inputs = Net::in_shape::size;
    static constexpr std::size_t outputs = Net::out_shape::size;

    trainer(Net& net, const Loss& loss, const Optimizer& opt, train_settings<T> settings = {})
        : net_(net),
          loss_(loss),
          live_(opt),
          optimizer_state_(live_.template make_state<T>(net.parameters().size())),
          settings_(std::move(settings)),
          exec_(settings_.thread_count),
          last_good_(net.parameters().size()),
          last_good_state_(net.state().size()),
          base_learning_rate_(static_cast<double>(opt.lr)) {
        if (settings_.comm && settings_.comm->size() > 1) {
            exec_.set_communicator(*settings_.comm, settings_.synchronise_batch_norm);
            // Every process starts from rank 0's weights and statistics.
            settings_.comm->broadcast(net_.parameters(), 0);
            settings_.comm->broadcast(net_.state(), 0);
        }
        if (settings_.augmentation) {
            using in_shape = typename Net::in_shape;
            if constexpr (is_image_shape<in_shape>) {
                const augment::image_shape shape{height_of<in_shape>, width_of<in_shape>,
                                                 channels_of<in_shape>};
                augmenter_ = [this, shape](const T* in, T* out, std::size_t count, std::size_t first,
                                           std::uint64_t seed) {
                    settings_.augmentation(in, out, count, shape, seed, first);
                };
            } else {
                throw usage_error(
                    "fit: an augment::pipeline needs image input (height, width, channels); the network "
                    "takes " +
                    in_shape::to_string());
            }
            if constexpr (requires { Loss::required_outputs; }) set_up_mask_augmentation();
        }
    }
    trainer(const trainer&) = delete;  // augmenter_ points at this trainer
    trainer& operator=(const trainer&) = delete;

    // One optimizer step on count samples at x (count x inputs) with targets
    // y; key seeds the step's dropout masks and augmentation. With weights
    // (one per sample), the loss is Keras' weighted mean sum(w_i loss_i) / count.
    // With outputs_out (count x outputs), the network's outputs are kept there.
    // In data-parallel training, x holds this process's share of the global batch.
    step_result step(const T* x, const T* y, std::size_t count, std::uint64_t key, const T* weights = nullptr,
                     T* outputs_out = nullptr, batch_share share = {}) {
        const std::size_t batch_count = share.total ? share.total : count;
        step_result r;
        // A negative rate climbs the loss and a NaN one poisons every weight, silently.
        if (const double lr = static_cast<double>(live_.lr); !(std::isfinite(lr) && lr >= 0)) {
            std::ostringstream value;
            value << lr;
            r.failure = "the learning rate is " + value.str() + " at step " + std::to_string(steps_);
            r.advice = settings_.learning_rate_at ? "The schedule must give a finite rate >= 0."
                                                  : "The optimizer's lr must be finite and >= 0.";
            return r;
        }
        // The forward pass updates moving statistics and the step the weights;
        // keep both to go back to if either turns non-finite.
        if (mask_augmenter_) {
            augmented_masks_.resize(count * loss_.target_width(outputs));
            mask_augmenter_(y, augmented_masks_.data(), count, key, share.offset);
            y = augmented_masks_.data();
        }
        last_targets_ = y;
        std::copy(net_.state().begin(), net_.state().end(), last_good_state_.data());
        const auto stats = exec_.train_batch(net_, x, y, count, loss_, key,
                                             augmenter_ ? &augmenter_ : nullptr, weights, outputs_out, share);
        const double penalty =
            detail::apply_weight_penalties(net_, exec_.writable_gradients(), settings_.global_penalty);
        if (!stats.finite || !std::isfinite(penalty)) {
            restore_state();  // the weights are untouched yet
            const double batch_loss = stats.loss_sum / static_cast<double>(batch_count) + penalty;
            r.failure = std::isfinite(batch_loss) ? "a gradient is NaN or infinite"
                                                  : "the loss is " + std::to_string(batch_loss);
            r.advice = "Lower the learning rate or check the data for NaN/Inf.";
            return r;
        }
        if constexpr (requires { live_.clip; }) optim::clip_gradients(live_.clip, exec_.writable_gradients());
        ++steps_;
        // A finite gradient can still overflow a weight.
        if (!update_weights()) {
            restore_last_good();
            r.failure = "the update made a weight NaN or infinite";
            r.advice = "Lower the learning rate.";
            return r;
        }
        r.loss_sum = stats.loss_sum + penalty * static_cast<double>(batch_count);
        r.accuracy_sum = stats.accuracy_sum;
        return r;
    }

    // The epoch loop: epochs over train in the sampler's order, batches of
    // batch samples, validation after each epoch, callbacks in the given order.
    template <class Source, data::sampler Sampler, class... Callbacks>
    history run(const Source& train, Sampler& sampler, std::size_t epochs, std::size_t batch,
                const data::dataset<T>* validation, Callbacks&... callbacks) {
        return run_from({}, train, sampler, epochs, batch, validation, callbacks...);
    }

    // The same, continuing a run whose first start.epochs_done epochs (and
    // their history) are done: the weights, optimizer state, step count and
    // sampler must already be where they were then (a checkpoint restores them).
    template <class Source, data::sampler Sampler, class... Callbacks>
    history run_from(resume_point start, const Source& train, Sampler& sampler, std::size_t epochs,
                     std::size_t batch, const data::dataset<T>* validation, Callbacks&... callbacks) {
        static_assert(data::source<Source, T>,
                      "trainer::run: the training data must be a data source: size(), sample_size(), "
                      "target_width() and gather(indices, x, y)");
        static_assert((callback_for<Callbacks, training_state<Net>> && ...),
                      "trainer::run: each callback needs at least one of on_train_begin, on_epoch_begin, "
                      "on_batch_end, on_epoch_end, on_train_end taking the training state");
        const std::size_t n = train.size(), tw = loss_.target_width(outputs);
        if (n == 0) throw usage_error("fit: the data set is empty");
        if (batch == 0) throw usage_error("fit: batch_size must be at least 1");
        if (train.sample_size() != inputs || train.target_width() != tw)
            throw usage_error("fit: the data source gives samples of " + std::to_string(train.sample_size()) +
                              " values and " + std::to_string(train.target_width()) +
                              " target value(s); the network takes " + std::to_string(inputs) +
                              " and the loss expects " + std::to_string(tw));
        batch = std::min(batch, n);
        const std::size_t batches = (n + batch - 1) / batch;
        xb_.resize(batch * inputs);
        yb_.resize(batch * tw);
        const bool weighted = !settings_.class_weight.empty() || !settings_.sample_weight.empty();
        if (weighted) wb_.resize(batch);
        const bool measuring = !settings_.metrics.empty();
        detail::metric_pass<T> measured(settings_.metrics, outputs, tw, detail::decision_threshold(loss_));
        if (measuring) batch_outputs_.resize(batch * outputs);
        if (!settings_.sample_weight.empty() && settings_.sample_weight.size() != n)
            throw usage_error("fit: sample_weights has " + std::to_string(settings_.sample_weight.size()) +
                              " weights for " + std::to_string(n) + " training samples");

        // Data-parallel: every process gathers and trains its share of each
        // global batch (the same order everywhere: one seeded sampler).
        const std::size_t ranks = settings_.comm ? static_cast<std::size_t>(settings_.comm->size()) : 1;
        const std::size_t rank = settings_.comm ? static_cast<std::size_t>(settings_.comm->rank()) : 0;
        if (ranks > 1) {
            check_same_run_everywhere(n, batch, epochs, sampler);
            if (measuring) batch_targets_.resize(batch * tw);
        }

        history h = std::move(start.past);
        const detail::sigint_catcher sigint;
        training_state<Net> state(net_);
        state.process_rank_ = rank;
        state.process_count_ = ranks;
        std::size_t epochs_done = start.epochs_done;
        state.snapshot_ = [&] {
            auto snap = snapshot(sampler, epochs_done);
            snap.base_learning_rate = state.base_learning_rate_;  // a callback may have changed it
            return snap;
        };
        state.epochs_ = epochs;
        state.batches_ = batches;
        state.history_ = &h;
        state.has_validation_ = validation != nullptr;
        state.measures_accuracy_ = Loss::has_accuracy;
        state.base_learning_rate_ = base_learning_rate_;
        auto each = [&]([[maybe_unused]] auto hook) { (hook(callbacks), ...); };
        each([&](auto& c) {
            if constexpr (requires { c.on_train_begin(state); }) c.on_train_begin(state);
        });
        bool interrupted = false;
        auto finish_stop = [&](stop_cause cause, std::size_t epoch) {
            h.stop_reason = state.stop_reason_;
            h.cause = cause;
            h.stopped_epoch = epoch;
        };
        for (std::size_t epoch = start.epochs_done + 1; epoch <= epochs && !state.stop_requested(); ++epoch) {
            const std::span<const std::size_t> order = sampler.next_epoch();
            if (order.size() != n)
                throw usage_error("fit: the sampler gave " + std::to_string(order.size()) + " indices for " +
                                  std::to_string(n) + " samples");
            // A generating source makes this epoch's samples (data::segmentation_source).
            if constexpr (requires { train.begin_epoch(epoch); }) train.begin_epoch(epoch);
            state.epoch_ = epoch;
            state.batch_ = 0;
            state.logs_ = epoch_record{};
            state.logs_.epoch = epoch;
            state.epoch_start_ = std::chrono::steady_clock::now();
            each([&](auto& c) {
                if constexpr (requires { c.on_epoch_begin(state); }) c.on_epoch_begin(state);
            });
            double loss_sum = 0, accuracy_sum = 0;
            std::size_t seen = 0;
            if (measuring) measured.begin(n);
            for (std::size_t b = 0; b < batches; ++b) {
                const std::size_t first = b * batch, count = std::min(batch, n - first);
                if (settings_.learning_rate_at)
                    live_.lr = settings_.learning_rate_at({steps_, epoch - 1, state.base_learning_rate_});
                else
                    live_.lr = static_cast<decltype(live_.lr)>(state.base_learning_rate_);
                const auto share_of = [&](std::size_t at, std::size_t size) {
                    return order.subspan(at + rank * size / ranks,
                                         (rank + 1) * size / ranks - rank * size / ranks);
                };
                const std::size_t lo = rank * count / ranks;
                const auto mine = share_of(first, count);
                train.gather(mine, xb_.data(), yb_.data());
                // A streamed source decodes the next batch while this one trains.
                if constexpr (requires { train.prefetch(order); })
                    if (b + 1 < batches)
                        train.prefetch(share_of(first + count, std::min(batch, n - first - count)));
                if (weighted)
                    detail::sample_weights_of(
                        yb_.data(), tw, mine.size(), settings_.class_weight, settings_.sample_weight,
                        [&](std::size_t k) { return mine[k]; }, wb_.data());
                if (measuring && ranks > 1) std::fill_n(batch_outputs_.data(), count * outputs, T(0));
                const step_result r =
                    step(xb_.data(), yb_.data(), mine.size(), mix_keys(settings_.seed_value, epoch, b),
                         weighted ? wb_.data() : nullptr,
                         measuring ? batch_outputs_.data() + lo * outputs : nullptr, {lo, count});
                if (!r.ok()) {
                    state.stop_reason_.clear();  // the failure outranks a pending request
                    state.stop("training stopped at epoch " + std::to_string(epoch) + ", batch " +
                               std::to_string(b + 1) + ": " + r.failure +
                               "; the weights are those from before this batch. " + r.advice);
                    finish_stop(stop_cause::bad_step, epoch);
                    break;
                }
                if (measuring && ranks > 1) {
                    // The metrics see the whole batch on every process.
                    std::fill_n(batch_targets_.data(), count * tw, T(0));
                    std::copy_n(last_targets_, mine.size() * tw, batch_targets_.data() + lo * tw);
                    settings_.comm->all_reduce(std::span<T>(batch_outputs_.data(), count * outputs));
                    settings_.comm->all_reduce(std::span<T>(batch_targets_.data(), count * tw));
                    measured.add(batch_outputs_.data(), batch_targets_.data(), count);
                } else if (measuring) {
                    measured.add(batch_outputs_.data(), last_targets_, count);
                }
                loss_sum += r.loss_sum;
                accuracy_sum += r.accuracy_sum;
                seen += count;
                state.batch_ = b + 1;
                state.step_ = steps_;
                state.gradients_ = exec_.gradients();
                state.logs_.loss = loss_sum / static_cast<double>(seen);
                state.logs_.accuracy =
                    Loss::has_accuracy ? accuracy_sum / static_cast<double>(seen) : not_measured;
                each([&](auto& c) {
                    if constexpr (requires { c.on_batch_end(state); }) c.on_batch_end(state);
                });
                if (sigint.caught() && !state.stop_requested()) {
                    state.stop("interrupted by SIGINT at epoch " + std::to_string(epoch) + ", batch " +
                               std::to_string(b + 1) + " of " + std::to_string(batches));
                    interrupted = true;
                }
                if (state.stop_requested()) break;
            }
            if (h.cause == stop_cause::bad_step) break;
            epoch_record& rec = state.logs_;
            rec.seconds = state.epoch_seconds();
            rec.images_per_second = static_cast<double>(seen) / rec.seconds;
            rec.learning_rate = static_cast<double>(live_.lr);
            if (measuring) measured.record(rec.metrics, "");
            // Unsynchronised batch norm: each process's moving statistics
            // followed its own shares; validate and save rank 0's.
            if (ranks > 1 && !settings_.synchronise_batch_norm && !net_.state().empty())
                settings_.comm->broadcast(net_.state(), 0);
            if (validation) {
                if (measuring) measured.begin(validation->size());
                const auto v = evaluate_with(
                    exec_, net_, *validation, loss_, std::max<std::size_t>(batch, 256), {}, {},
                    measuring ? std::function<void(const T*, const T*, std::size_t)>(
                                    [&](const T* o, const T* y, std::size_t c) { measured.add(o, y, c); })
                              : nullptr,
                    settings_.comm);
                rec.val_loss =
                    v.loss + detail::apply_weight_penalties(net_, std::span<T>(), settings_.global_penalty);
                rec.val_accuracy = v.accuracy;
                if (measuring) measured.record(rec.metrics, "val_");
            }
            if (settings_.schedule_observe) settings_.schedule_observe(rec);
            h.epochs.push_back(rec);
            epochs_done = epoch;
            each([&](auto& c) {
                if constexpr (requires { c.on_epoch_end(state); }) c.on_epoch_end(state);
            });
            if (sigint.caught() && !state.stop_requested()) {  // during validation or the hooks
                state.stop("interrupted by SIGINT after epoch " + std::to_string(epoch));
                interrupted = true;
            }
            if (state.stop_requested())
                finish_stop(interrupted ? stop_cause::interrupted : stop_cause::callback, epoch);
        }
        base_learning_rate_ = state.base_learning_rate_;
        each([&](auto& c) {
            if constexpr (requires { c.on_train_end(state); }) c.on_train_end(state);
        });
        return h;
    }

    // Every buffer and counter of the optimizer's state, by name: f(name,
    // aligned_buffer<T>&) and f(name, std::uint64_t&). An optimizer whose
    // state has no visit(f) cannot be checkpointed.
    template <class F>
    void visit_optimizer_state(F&& f) {
        if constexpr (requires { optimizer_state_.visit(f); })
            optimizer_state_.visit(f);
        else
            throw usage_error(
                "checkpoint: the optimizer's state_type has no visit(f), so its state cannot be "
                "saved or restored");
    }
    void set_steps_done(std::size_t steps) noexcept { steps_ = steps; }
    const train_settings<T>& settings() const noexcept { return settings_; }

    template <class Sampler>
    training_snapshot<T> snapshot(const Sampler& sampler, std::size_t epochs_done) {
        training_snapshot<T> s;
        visit_optimizer_state([&](const char* name, auto& value) {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(value)>, std::uint64_t>)
                s.optimizer_counters.emplace_back(name, value);
            else
                s.optimizer_buffers.emplace_back(name, std::span<const T>(value.data(), value.size()));
        });
        s.steps = steps_;
        s.seed = settings_.seed_value;
        s.base_learning_rate = base_learning_rate_;
        s.epochs_done = epochs_done;
        if constexpr (requires { sampler.position(); }) {
            s.sampler_saved = true;
            s.sampler_order.assign(sampler.order().begin(), sampler.order().end());
            s.sampler_position = sampler.position();
        }
        return s;
    }

    Net& network() noexcept { return net_; }
    executor<Net>& exec() noexcept { return exec_; }
    const Loss& loss() const noexcept { return loss_; }
    std::size_t steps_done() const noexcept { return steps_; }
    double learning_rate() const noexcept { return static_cast<double>(live_.lr); }
    void set_learning_rate(double lr) {
        base_learning_rate_ = lr;
        live_.lr = static_cast<decltype(live_.lr)>(lr);
    }

private:
    // A per-pixel loss's targets are masks over the output's pixels: they
    // move with the image, which needs the output at the input's resolution.
    void set_up_mask_augmentation() {
        using in_shape = typename Net::in_shape;
        using out_shape = typename Net::out_shape;
        if constexpr (is_image_shape<in_shape> && is_image_shape<out_shape>) {
            if constexpr (height_of<in_shape> != height_of<out_shape> ||
                          width_of<in_shape> != width_of<out_shape>)
                throw usage_error(
                    "fit: augmenting segmentation masks needs the network's output at its "
                    "input's resolution; it takes " +
                    in_shape::to_string() + " and gives " + out_shape::to_string());
            if (!settings_.mask_augmentation) return;
            constexpr std::size_t pixels = height_of<out_shape> * width_of<out_shape>;
            const augment::image_shape mask{height_of<out_shape>, width_of<out_shape>,
                                            loss_.target_width(outputs) / pixels};
            // Pixels brought in from outside the image by constant fill count for nothing when the loss can
            // ignore.
            double fill = 0;
            if constexpr (requires { loss_.ignore_label; })
                if (loss_.ignore_label) fill = static_cast<double>(*loss_.ignore_label);
            if constexpr (requires { loss_.ignore_value; })
                if (loss_.ignore_value) fill = static_cast<double>(*loss_.ignore_value);
            mask_augmenter_ = [this, mask, fill](const T* in, T* out, std::size_t count, std::uint64_t key,
                                                 std::size_t first) {
                settings_.mask_augmentation(in, out, count, mask, key, first, fill);
            };
        } else {
            throw usage_error(
                "fit: augmenting segmentation masks needs image input and output; the network "
                "gives " +
                out_shape::to_string());
        }
    }

    // Processes that disagree on the data or the settings would deadlock or
    // silently train different models; rank 0's values are the reference.
    template <class Sampler>
    void check_same_run_everywhere(std::size_t n, std::size_t batch, std::size_t epochs,
                                   const Sampler& sampler) {
        std::array<double, 5> mine{static_cast<double>(n), static_cast<double>(batch),
                                   static_cast<double>(epochs),
                                   static_cast<double>(settings_.seed_value % (std::uint64_t{1} << 52)), 0};
        if constexpr (requires { sampler.order(); })
            for (std::size_t k = 0; k < std::min<std::size_t>(sampler.order().size(), 64); ++k)
                mine[4] += static_cast<double>(sampler.order()[k]) * static_cast<double>(k + 1);
        auto reference = mine;
        settings_.comm->broadcast(std::span<double>(reference), 0);
        static constexpr const char* names[] = {"training samples", "batch size", "epochs", "seed",
                                                "sampler order"};
        // Whole numbers below 2^53, so exact in a double.
        const auto whole = [](double v) { return std::to_string(static_cast<std::uint64_t>(v)); };
        for (std::size_t k = 0; k < mine.size(); ++k)
            if (mine[k] != reference[k])
                throw usage_error("fit (distributed): rank " + std::to_string(settings_.comm->rank()) +
                                  " has " + names[k] + " " + whole(mine[k]) + " but rank 0 has " +
                                  whole(reference[k]) +
                                  "; every process must run the same fit on the same data");
    }

    // The optimizer's step, keeping the weights it replaces in last_good_;
    // false if it made any weight NaN or infinite. A policy that can split
    // its update runs on every thread, in blocks small enough that the copy
    // and the check read what the update just wrote from L1.
    bool update_weights() {
        const std::span<T> params = net_.parameters();
        if constexpr (detail::optimizer_splits_step<Optimizer, T>) {
            T* const p = params.data();
            T* const keep = last_good_.data();
            std::atomic<bool> finite{true};
            auto ranges = [&](std::size_t n, const auto& update) {
                exec_.for_parts(n, [&](std::size_t begin, std::size_t end) {
                    constexpr std::size_t block = 2048;
                    for (std::size_t b = begin; b < end; b += block) {
                        const std::size_t e = std::min(end, b + block);
                        std::copy(p + b, p + e, keep + b);
                        update(b, e);
                        if (!simd::all_finite(p + b, e - b)) finite.store(false, std::memory_order_relaxed);
                    }
                });
            };
            live_.step(params, exec_.gradients(), optimizer_state_, ranges);
            return finite.load();
        } else {
            std::copy(params.begin(), params.end(), last_good_.data());
            live_.step(params, exec_.gradients(), optimizer_state_);
            return simd::all_finite(params.data(), params.size());
        }
    }
    void restore_state() {
        std::copy_n(last_good_state_.data(), last_good_state_.size(), net_.state().data());
    }
    void restore_last_good() {
        std::copy_n(last_good_.data(), last_good_.size(), net_.parameters().data());
        restore_state();
    }

    Net& net_;
    Loss loss_;
    Optimizer live_;  // a schedule sets its lr step by step
    decltype(std::declval<Optimizer&>().template make_state<T>(std::size_t{})) optimizer_state_;
    train_settings<T> settings_;
    executor<Net> exec_;
    batch_augmenter<T> augmenter_;
    aligned_buffer<T> last_good_, last_good_state_, xb_, yb_, wb_;
    aligned_buffer<T> batch_outputs_, batch_targets_, augmented_masks_;
    const T* last_targets_ = nullptr;  // the last step's targets, its masks augmented
    std::function<void(const T*, T*, std::size_t, std::uint64_t, std::size_t)> mask_augmenter_;
    std::size_t steps_ = 0;
    double base_learning_rate_;
};

}  // namespace strata
