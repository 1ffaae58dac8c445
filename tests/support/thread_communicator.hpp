// A communicator whose "processes" are threads of one test program: the
// data-parallel logic is then tested without MPI, under the sanitizers, and
// with any number of ranks. Sums run in rank order, like a deterministic
// all-reduce, so every rank gets the same bits.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <strata/distributed/communicator.hpp>

namespace strata::testing {

struct job_aborted : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What the ranks share: a barrier and each rank's buffer of the collective in progress.
class thread_group {
public:
    explicit thread_group(int ranks) : ranks_(ranks), buffers_(static_cast<std::size_t>(ranks)) {}

    int size() const noexcept { return ranks_; }
    const std::string& abort_message() const noexcept { return abort_message_; }
    std::size_t collectives() const noexcept { return collectives_; }  // on rank 0

    void wait() {
        std::unique_lock lock(mutex_);
        if (aborted_) throw job_aborted(abort_message_);
        const std::size_t generation = generation_;
        if (++arrived_ == ranks_) {
            arrived_ = 0;
            ++generation_;
            changed_.notify_all();
            return;
        }
        changed_.wait(lock, [&] { return generation_ != generation || aborted_; });
        if (aborted_) throw job_aborted(abort_message_);
    }
    [[noreturn]] void abort(int rank, const std::string& message) {
        {
            std::lock_guard lock(mutex_);
            if (!aborted_) abort_message_ = "rank " + std::to_string(rank) + ": " + message;
            aborted_ = true;
            changed_.notify_all();
        }
        throw job_aborted(message);
    }

private:
    friend class thread_communicator;
    int ranks_;
    std::vector<void*> buffers_;
    std::mutex mutex_;
    std::condition_variable changed_;
    int arrived_ = 0;
    std::size_t generation_ = 0, collectives_ = 0;
    bool aborted_ = false;
    std::string abort_message_;
};

class thread_communicator {
public:
    thread_communicator(thread_group& group, int rank) : group_(&group), rank_(rank) {}
    int rank() const noexcept { return rank_; }
    int size() const noexcept { return group_->size(); }
    int local_size() const noexcept { return group_->size(); }  // all on this machine
    void all_reduce(std::span<float> v) { reduce(v); }
    void all_reduce(std::span<double> v) { reduce(v); }
    void broadcast(std::span<float> v, int root) { copy_from(v, root); }
    void broadcast(std::span<double> v, int root) { copy_from(v, root); }
    void barrier() { group_->wait(); }
    [[noreturn]] void abort(const std::string& message) { group_->abort(rank_, message); }

private:
    template <class T>
    void reduce(std::span<T> v) {
        if (rank_ == 0) ++group_->collectives_;
        group_->buffers_[static_cast<std::size_t>(rank_)] = v.data();
        group_->wait();
        std::vector<T> sum(v.size(), T(0));
        for (int r = 0; r < size(); ++r) {
            const T* other = static_cast<const T*>(group_->buffers_[static_cast<std::size_t>(r)]);
            for (std::size_t k = 0; k < v.size(); ++k) sum[k] += other[k];
        }
        group_->wait();  // everyone has read every buffer
        std::copy(sum.begin(), sum.end(), v.begin());
    }
    template <class T>
    void copy_from(std::span<T> v, int root) {
        group_->buffers_[static_cast<std::size_t>(rank_)] = v.data();
        group_->wait();
        if (rank_ != root) {
            const T* source = static_cast<const T*>(group_->buffers_[static_cast<std::size_t>(root)]);
            std::copy(source, source + v.size(), v.begin());
        }
        group_->wait();
    }

    thread_group* group_;
    int rank_;
};

// Runs body(comm) on `ranks` threads, one communicator each. Returns the
// job's abort message (empty if none aborted); rethrows any other exception.
inline std::string run_ranks(int ranks, const std::function<void(thread_communicator&)>& body) {
    thread_group group(ranks);
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(ranks));
    std::vector<std::thread> threads;
    for (int r = 0; r < ranks; ++r)
        threads.emplace_back([&, r] {
            thread_communicator comm(group, r);
            try {
                body(comm);
            } catch (const job_aborted&) {
            } catch (...) {
                errors[static_cast<std::size_t>(r)] = std::current_exception();
            }
        });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
    return group.abort_message();
}

}  // namespace strata::testing
