// Lets the threads that each run a slice of one batch combine per-slice sums,
// so a layer that needs whole-batch statistics (batch_norm) gets the same
// numbers however the batch was split. Every participant must call
// all_reduce the same number of times in the same order.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <vector>

#include "aligned_buffer.hpp"
#include "spin.hpp"

namespace strata {

class batch_sync {
public:
    // Allocates room for up to `participants` threads reducing `width` values
    // each; call outside the training step.
    void reserve(std::size_t participants, std::size_t width) {
        stride_ = round_up_to_line<double>(width);
        // One more slot: the totals, when they are also reduced across processes.
        if (slots_.size() < (participants + 1) * stride_) slots_.resize((participants + 1) * stride_);
    }
    // Sums the threads' totals across processes too (data-parallel training:
    // synchronised batch norm). Called by participant 0 only, once per all_reduce.
    void reduce_across_processes(std::function<void(std::span<double>)> reduce) {
        across_processes_ = std::move(reduce);
    }
    void begin_batch(std::size_t participants) noexcept {
        participants_ = participants;
        arrived_.store(0, std::memory_order_relaxed);  // an aborted batch may have left arrivals
        aborted_.store(false, std::memory_order_relaxed);
    }
    // A participant that fails calls this so the others stop waiting for it
    // (and throw) instead of hanging.
    void abort() noexcept {
        aborted_.store(true, std::memory_order_release);
        generation_.fetch_add(1, std::memory_order_release);
        generation_.notify_all();
    }

    // values: this participant's partial sums on entry, the batch's totals on
    // return. Totals are summed in participant order, so every thread gets
    // bit-identical results.
    void all_reduce(std::size_t participant, std::span<double> values) {
        if (across_processes_) return all_reduce_across(participant, values);
        if (participants_ <= 1) return;
        double* mine = slots_.data() + participant * stride_;
        std::copy(values.begin(), values.end(), mine);
        arrive_and_wait();
        for (std::size_t k = 0; k < values.size(); ++k) {
            double total = 0;
            for (std::size_t p = 0; p < participants_; ++p) total += slots_[p * stride_ + k];
            values[k] = total;
        }
        // Nobody may overwrite a slot before everyone has read it.
        arrive_and_wait();
    }

private:
    // Participant 0 sums the slots, reduces the totals across processes and
    // publishes them; the others wait, then read. Two barriers suffice: no
    // one writes its slot or the totals again before everyone has read.
    void all_reduce_across(std::size_t participant, std::span<double> values) {
        if (participants_ <= 1) return across_processes_(values);
        double* mine = slots_.data() + participant * stride_;
        double* totals = slots_.data() + participants_ * stride_;
        std::copy(values.begin(), values.end(), mine);
        arrive_and_wait();
        if (participant == 0) {
            try {
                for (std::size_t k = 0; k < values.size(); ++k) {
                    double total = 0;
                    for (std::size_t p = 0; p < participants_; ++p) total += slots_[p * stride_ + k];
                    totals[k] = total;
                }
                across_processes_(std::span<double>(totals, values.size()));
            } catch (...) {
                abort();
                throw;
            }
        }
        arrive_and_wait();
        std::copy_n(totals, values.size(), values.begin());
    }

    // The wait is short (the slices are equal), so spin for up to 100 µs, then
    // sleep on the atomic so oversubscribed machines still make progress.
    // Spinning 2000 empty iterations (about a microsecond) before sleeping
    // left ResNet-20's threads waiting in futex wake-ups at its 76 barriers.
    void arrive_and_wait() {
        const std::uint32_t generation = generation_.load(std::memory_order_acquire);
        if (aborted_.load(std::memory_order_acquire)) throw_aborted();
        if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == participants_) {
            arrived_.store(0, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_release);
            generation_.notify_all();
            return;
        }
        detail::spin_until([&] { return generation_.load(std::memory_order_acquire) != generation; });
        while (generation_.load(std::memory_order_acquire) == generation)
            generation_.wait(generation, std::memory_order_acquire);
        if (aborted_.load(std::memory_order_acquire)) throw_aborted();
    }
    [[noreturn]] static void throw_aborted() {
        throw std::runtime_error("batch_sync: another slice of the batch failed");
    }

    aligned_buffer<double> slots_;
    std::size_t stride_ = 0, participants_ = 1;
    alignas(64) std::atomic<std::size_t> arrived_{0};
    alignas(64) std::atomic<std::uint32_t> generation_{0};
    std::atomic<bool> aborted_{false};
    std::function<void(std::span<double>)> across_processes_;
};

}  // namespace strata
