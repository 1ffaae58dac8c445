// A small persistent pool: threads are created once, and each parallel call
// hands out task indices to them and to the caller, so a training step
// creates no thread. Workers spin briefly after each call before they sleep:
// one image's layers hand work over every few microseconds, and a wake-up
// through the condition variable costs tens of microseconds on a VM.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "spin.hpp"

namespace strata {

struct threads {
    std::size_t count = 0;  // 0: one per hardware thread
};

inline std::size_t resolve_thread_count(threads t) {
    if (t.count) return t.count;
    return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

class thread_pool {
public:
    explicit thread_pool(threads t = {}) {
        const std::size_t n = resolve_thread_count(t);
        workers_.reserve(n - 1);
        for (std::size_t i = 1; i < n; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
    }
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    ~thread_pool() {
        {
            std::lock_guard lock(mutex_);
            stopping_.store(true, std::memory_order_release);
        }
        wake_.notify_all();
        for (auto& w : workers_) w.join();
    }

    std::size_t size() const noexcept { return workers_.size() + 1; }

    // Runs task(i) for i in [0, tasks) with task i on thread i % size(); the
    // caller runs index 0. Rethrows the first exception a task threw.
    void run(std::size_t tasks, const std::function<void(std::size_t)>& task) {
        if (tasks == 0) return;
        if (workers_.empty() || tasks == 1) {
            for (std::size_t i = 0; i < tasks; ++i) task(i);
            return;
        }
        // Workers are idle (the last call waited for them), so these plain
        // writes are published by the generation's release below.
        task_ = &task;
        task_count_ = tasks;
        error_ = nullptr;
        pending_.store(workers_.size(), std::memory_order_relaxed);
        {
            std::lock_guard lock(mutex_);  // a worker about to sleep re-checks under it
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        run_share(0, tasks, task);
        if (!detail::spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
            std::unique_lock lock(mutex_);
            done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
        }
        task_ = nullptr;
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

private:
    void run_share(std::size_t thread_index, std::size_t tasks,
                   const std::function<void(std::size_t)>& task) {
        try {
            for (std::size_t i = thread_index; i < tasks; i += size()) task(i);
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
    }

    void worker_loop(std::size_t index) {
        std::size_t seen = 0;
        for (;;) {
            auto called = [&] {
                return stopping_.load(std::memory_order_acquire) ||
                       generation_.load(std::memory_order_acquire) != seen;
            };
            if (!detail::spin_until(called)) {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, called);
            }
            if (stopping_.load(std::memory_order_acquire)) return;
            seen = generation_.load(std::memory_order_acquire);
            run_share(index, task_count_, *task_);
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard lock(mutex_);  // the caller may be between its check and its wait
                done_.notify_one();
            }
        }
    }

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    const std::function<void(std::size_t)>* task_ = nullptr;
    std::size_t task_count_ = 0;
    std::atomic<std::size_t> generation_{0}, pending_{0};
    std::atomic<bool> stopping_{false};
    std::exception_ptr error_;
};

}  // namespace strata
