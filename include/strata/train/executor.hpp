// Runs a network over a batch on a thread pool: each thread takes a contiguous
// slice of the batch through its own replica buffers, and the per-thread
// parameter gradients are then summed in parallel by parameter range. After
// the first batch of a given size, a step allocates nothing.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "../core/aligned_buffer.hpp"
#include "../core/simd.hpp"
#include "../core/thread_pool.hpp"
#include "../distributed/communicator.hpp"
#include "../model/sequential.hpp"

namespace strata {

// Rewrites count training samples (batch positions first...) from in to out,
// with the step's seed: how fit applies an augmentation pipeline, on each
// thread's slice inside the parallel step.
template <class T>
using batch_augmenter =
    std::function<void(const T* in, T* out, std::size_t count, std::size_t first, std::uint64_t step_seed)>;

// Which samples of a global batch this process trains on, in data-parallel
// training: positions [offset, offset + n) of total. Dropout masks and
// augmentation are keyed by the global position, so the split over
// processes and threads does not change them.
struct batch_share {
    std::size_t offset = 0;
    std::size_t total = 0;  // 0: this process has the whole batch
};

struct batch_stats {
    double loss_sum = 0;      // sum of per-sample losses
    double accuracy_sum = 0;  // sum of per-sample accuracies
    bool finite = true;       // loss and every gradient are finite
};

template <class Net>
class executor {
public:
    using T = typename Net::scalar_type;
    static constexpr std::size_t inputs = Net::in_shape::size;
    static constexpr std::size_t outputs = Net::out_shape::size;

    explicit executor(threads t = {})
        : pool_(t), replicas_(pool_.size()), augmented_(pool_.size()), partial_(pool_.size()) {
        gradients_.resize(Net::param_offsets[Net::layer_count]);
        if constexpr (Net::sync_width > 0) sync_.reserve(pool_.size(), Net::sync_width);
    }

    std::size_t thread_count() const noexcept { return pool_.size(); }

    // Data-parallel training: gradients, loss sums and batch-norm statistics
    // are then summed across comm's processes every step.
    void set_communicator(const any_communicator& comm, bool synchronise_batch_norm = true) {
        comm_ = comm;
        synchronise_batch_norm_ = synchronise_batch_norm;
        if constexpr (Net::sync_width > 0)
            if (synchronise_batch_norm)
                sync_.reduce_across_processes([c = comm](std::span<double> v) { c.all_reduce(v); });
    }

    // Forward + loss + backward on n samples in training mode; gradients()
    // then holds d(mean loss)/d(parameters).
    // With augment, each thread first rewrites its slice of x into a buffer of its own.
    // With weights (one per sample), the loss is Keras' weighted mean,
    // sum(w_i loss_i) / n, and loss_sum is sum(w_i loss_i). With outputs_out
    // (n x outputs), the network's outputs are copied there (for metrics).
    // With a communicator, x holds this process's share of a global batch;
    // the gradients and sums returned are the whole batch's, on every process.
    template <class Loss>
    batch_stats train_batch(const Net& net, const T* x, const T* y, std::size_t n, const Loss& loss,
                            std::uint64_t step_seed, const batch_augmenter<T>* augment = nullptr,
                            const T* weights = nullptr, T* outputs_out = nullptr, batch_share share = {}) {
        const std::size_t tw = loss.target_width(outputs);
        const std::size_t slices = slice_count(n);
        const T grad_scale = T(1) / static_cast<T>(share.total ? share.total : n);
        batch_slice shared{};
        if constexpr (Net::sync_width > 0) {
            sync_.begin_batch(slices);
            if (slices > 1 || (comm_ && synchronise_batch_norm_)) shared.sync = &sync_;
        }
        auto work = [&](std::size_t i) {
            const auto [first, count] = slice(i, slices, n);
            const batch_slice mine{shared.sync, i};
            auto& r = replicas_[i];
            try {
                r.reserve(count);
                r.gradients.fill_zero();
                const T* in = x + first * inputs;
                const std::size_t position = share.offset + first;  // in the global batch
                if (augment) {
                    augmented_[i].resize(count * inputs);  // grows once, then never reallocates
                    (*augment)(in, augmented_[i].data(), count, position, step_seed);
                    in = augmented_[i].data();
                }
                const T* out = net.forward(r, in, count, true, step_seed, position, mine);
                if (outputs_out) std::copy_n(out, count * outputs, outputs_out + first * outputs);
                partial_[i].loss_sum = weighted_loss(loss, out, y + first * tw, count, r.grad_a.data(),
                                                     grad_scale, weights ? weights + first : nullptr);
                partial_[i].accuracy_sum = loss.accuracy_sum(out, y + first * tw, count, outputs);
                net.backward(r, in, count, step_seed, position, nullptr, mine);
            } catch (...) {
                if (mine.sync) mine.sync->abort();  // the other slices may be waiting for this one
                throw;
            }
        };
        pool_.run(slices, std::cref(work));
        batch_stats stats = combine(slices);
        stats.finite = std::isfinite(stats.loss_sum) && reduce_gradients(slices);
        if (comm_) {
            // A NaN or Inf on any process survives the sum, so every process
            // sees the same verdict and stops at the same step.
            comm_->all_reduce(gradients_.span());
            std::array<double, 2> sums{stats.loss_sum, stats.accuracy_sum};
            comm_->all_reduce(std::span<double>(sums));
            stats.loss_sum = sums[0];
            stats.accuracy_sum = sums[1];
            stats.finite =
                std::isfinite(stats.loss_sum) && simd::all_finite(gradients_.data(), gradients_.size());
        }
        return stats;
    }

    // Loss and accuracy sums of n samples in inference mode; with weights,
    // loss_sum is sum(w_i loss_i).
    template <class Loss>
    batch_stats evaluate_batch(const Net& net, const T* x, const T* y, std::size_t n, const Loss& loss,
                               const T* weights = nullptr, T* outputs_out = nullptr) {
        const std::size_t tw = loss.target_width(outputs);
        const std::size_t slices = slice_count(n);
        auto work = [&](std::size_t i) {
            const auto [first, count] = slice(i, slices, n);
            const T* out = net.forward(replicas_[i], x + first * inputs, count, false, 0, first);
            if (outputs_out) std::copy_n(out, count * outputs, outputs_out + first * outputs);
            partial_[i].loss_sum = weighted_loss(loss, out, y + first * tw, count, static_cast<T*>(nullptr),
                                                 T(1), weights ? weights + first : nullptr);
            partial_[i].accuracy_sum = loss.accuracy_sum(out, y + first * tw, count, outputs);
        };
        pool_.run(slices, std::cref(work));
        batch_stats stats = combine(slices);
        stats.finite = std::isfinite(stats.loss_sum);
        return stats;
    }

    // Network outputs of n samples (inference mode) into out (n x outputs).
    void predict_batch(const Net& net, const T* x, std::size_t n, T* out) {
        const std::size_t slices = slice_count(n);
        // Too few samples to give each thread its own: the layers split one
        // image's work across the idle pool instead.
        const batch_slice whole{.pool = slices == 1 && pool_.size() > 1 ? &pool_ : nullptr};
        auto work = [&](std::size_t i) {
            const auto [first, count] = slice(i, slices, n);
            const T* y = net.forward(replicas_[i], x + first * inputs, count, false, 0, first, whole);
            std::copy_n(y, count * outputs, out + first * outputs);
        };
        pool_.run(slices, std::cref(work));
    }

    // Below this many values, waking a thread costs more than it saves.
    static constexpr std::size_t split_from = 16384;

    // Runs body(begin, end) on contiguous parts of [0, n), one per thread
    // from split_from values on, for element-wise passes over the
    // parameters. Parts start on cache lines, so no two threads write one line.
    template <class Body>
    void for_parts(std::size_t n, const Body& body) {
        const std::size_t parts = n < split_from ? 1 : pool_.size();
        auto work = [&](std::size_t part) {
            const std::size_t begin = std::min(n, round_up_to_line<T>(part * n / parts));
            const std::size_t end =
                part + 1 == parts ? n : std::min(n, round_up_to_line<T>((part + 1) * n / parts));
            if (begin < end) body(begin, end);
        };
        if (parts == 1)
            work(0);
        else
            pool_.run(parts, std::cref(work));
    }

    std::span<const T> gradients() const noexcept { return gradients_.span(); }
    // Mutable for what training adds or changes before the step (penalties, clipping).
    std::span<T> writable_gradients() noexcept { return gradients_.span(); }

private:
    // The loss of count samples; with weights, sample by sample so any loss
    // policy works unchanged: each sample's gradient is scaled by its weight.
    template <class Loss>
    static double weighted_loss(const Loss& loss, const T* out, const T* y, std::size_t count, T* grad,
                                T grad_scale, const T* weights) {
        if (!weights) return loss.evaluate(out, y, count, outputs, grad, grad_scale);
        const std::size_t tw = loss.target_width(outputs);
        double sum = 0;
        for (std::size_t k = 0; k < count; ++k)
            sum += static_cast<double>(weights[k]) * loss.evaluate(out + k * outputs, y + k * tw, 1, outputs,
                                                                   grad ? grad + k * outputs : nullptr,
                                                                   static_cast<T>(grad_scale * weights[k]));
        return sum;
    }

    // Threads get at least a few samples each: below that, waking one costs more than it saves.
    std::size_t slice_count(std::size_t n) const {
        constexpr std::size_t min_slice = 4;
        return std::clamp<std::size_t>(n / min_slice, 1, pool_.size());
    }
    static std::pair<std::size_t, std::size_t> slice(std::size_t i, std::size_t slices, std::size_t n) {
        const std::size_t first = i * n / slices, last = (i + 1) * n / slices;
        return {first, last - first};
    }
    batch_stats combine(std::size_t slices) const {
        batch_stats s;
        for (std::size_t i = 0; i < slices; ++i) {
            s.loss_sum += partial_[i].loss_sum;
            s.accuracy_sum += partial_[i].accuracy_sum;
        }
        return s;
    }
    // gradients_ = sum of the replicas' gradients; false if any is not finite.
    bool reduce_gradients(std::size_t slices) {
        std::atomic<bool> finite{true};
        for_parts(gradients_.size(), [&](std::size_t begin, std::size_t end) {
            T* dst = gradients_.data();
            std::copy(replicas_[0].gradients.data() + begin, replicas_[0].gradients.data() + end,
                      dst + begin);
            for (std::size_t r = 1; r < slices; ++r) {
                const T* src = replicas_[r].gradients.data();
                simd::transform(dst + begin, src + begin, dst + begin, end - begin,
                                [](auto a, auto b) { return a + b; });
            }
            if (!simd::all_finite(dst + begin, end - begin)) finite.store(false, std::memory_order_relaxed);
        });
        return finite.load();
    }

    thread_pool pool_;
    std::optional<any_communicator> comm_;
    bool synchronise_batch_norm_ = true;
    batch_sync sync_;
    std::vector<typename Net::replica> replicas_;
    std::vector<aligned_buffer<T>> augmented_;  // each thread's augmented slice
    aligned_buffer<T> gradients_;
    struct partial {
        double loss_sum = 0, accuracy_sum = 0;
    };
    // One slot per thread, sized with the pool so a step never allocates.
    std::vector<partial> partial_;
};

}  // namespace strata
