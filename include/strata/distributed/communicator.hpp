// What data-parallel training needs from a group of processes: who am I, how
// many are we, sum a buffer across all of us, copy one process's buffer to
// all, wait for everyone, and end the whole job. The MPI backend
// (distributed/mpi.hpp) and the single-process one below both model it;
// fit(..., distributed{comm}) takes either.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <span>
#include <string>

namespace strata {

template <class C>
concept communicator = requires(C& c, const C& cc, std::span<float> f, std::span<double> d, int root,
                                const std::string& message) {
    { cc.rank() } -> std::convertible_to<int>;
    { cc.size() } -> std::convertible_to<int>;
    c.all_reduce(f);  // in place: every process gets the element-wise sum, bit-identical everywhere
    c.all_reduce(d);
    c.broadcast(f, root);  // every process gets root's values
    c.broadcast(d, root);
    c.barrier();
    c.abort(message);  // ends every process of the job; does not return
};

// Optional: how many of the processes share this machine (its cores), so
// fit's default thread count gives each its share.
template <class C>
concept knows_local_processes = requires(const C& c) {
    { c.local_size() } -> std::convertible_to<int>;
};

// One process: every collective is the identity.
struct single_process {
    int rank() const noexcept { return 0; }
    int size() const noexcept { return 1; }
    void all_reduce(std::span<float>) noexcept {}
    void all_reduce(std::span<double>) noexcept {}
    void broadcast(std::span<float>, int) noexcept {}
    void broadcast(std::span<double>, int) noexcept {}
    void barrier() noexcept {}
    [[noreturn]] void abort(const std::string& message) noexcept {
        std::fprintf(stderr, "strata: %s\n", message.c_str());
        std::terminate();
    }
};

// A non-owning, type-erased reference to a communicator, so the trainer
// is not a template over the backend. The calls are a few per step.
class any_communicator {
public:
    template <communicator C>
    requires(!std::same_as<C, any_communicator>) any_communicator(C& c)
    noexcept  // NOLINT: implicit by design
        : self_(&c), ops_(&ops_for<C>) {}

    int rank() const { return ops_->rank(self_); }
    int size() const { return ops_->size(self_); }
    int local_size() const { return ops_->local_size(self_); }  // 1 if the backend cannot tell
    void all_reduce(std::span<float> v) const { ops_->all_reduce_f(self_, v); }
    void all_reduce(std::span<double> v) const { ops_->all_reduce_d(self_, v); }
    void broadcast(std::span<float> v, int root) const { ops_->broadcast_f(self_, v, root); }
    void broadcast(std::span<double> v, int root) const { ops_->broadcast_d(self_, v, root); }
    void barrier() const { ops_->barrier(self_); }
    [[noreturn]] void abort(const std::string& message) const {
        ops_->abort(self_, message);
        std::terminate();  // a backend whose abort returned
    }

private:
    struct ops {
        int (*rank)(void*);
        int (*size)(void*);
        int (*local_size)(void*);
        void (*all_reduce_f)(void*, std::span<float>);
        void (*all_reduce_d)(void*, std::span<double>);
        void (*broadcast_f)(void*, std::span<float>, int);
        void (*broadcast_d)(void*, std::span<double>, int);
        void (*barrier)(void*);
        void (*abort)(void*, const std::string&);
    };
    template <class C>
    static constexpr ops ops_for{
        [](void* c) { return static_cast<int>(static_cast<C*>(c)->rank()); },
        [](void* c) { return static_cast<int>(static_cast<C*>(c)->size()); },
        [](void* c) {
            if constexpr (knows_local_processes<C>)
                return static_cast<int>(static_cast<C*>(c)->local_size());
            else
                return 1;
        },
        [](void* c, std::span<float> v) { static_cast<C*>(c)->all_reduce(v); },
        [](void* c, std::span<double> v) { static_cast<C*>(c)->all_reduce(v); },
        [](void* c, std::span<float> v, int root) { static_cast<C*>(c)->broadcast(v, root); },
        [](void* c, std::span<double> v, int root) { static_cast<C*>(c)->broadcast(v, root); },
        [](void* c) { static_cast<C*>(c)->barrier(); },
        [](void* c, const std::string& m) { static_cast<C*>(c)->abort(m); },
    };
    void* self_;
    const ops* ops_;
};

// A fit and evaluate option: train (or evaluate) data-parallel over comm's
// processes. Every process runs the same program on the same data; see
// README "Training on several machines (MPI)".
struct distributed {
    any_communicator comm;
    // batch_norm's batch statistics summed across processes (the same
    // training as one process), at two small all-reduces per batch_norm
    // layer per step. Off, each process normalises by its own share's
    // statistics (PyTorch DDP's default), and the moving statistics are
    // copied from rank 0 after each epoch.
    bool synchronise_batch_norm = true;
};

}  // namespace strata
