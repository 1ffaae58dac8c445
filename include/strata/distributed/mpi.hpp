// The MPI backend of the communicator concept. Optional: include it only in
// programs built against MPI (CMake target strata::mpi, which links
// MPI::MPI_CXX); the rest of strata never includes <mpi.h>.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>

#include "communicator.hpp"

namespace strata {

namespace detail {
inline void check_mpi(int code, const char* what) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw std::runtime_error(std::string("MPI: ") + what + " failed: " + std::string(text, length));
}
}  // namespace detail

// Starts MPI for the program's lifetime (MPI_Init_thread, then
// MPI_Finalize): construct one in main before anything else uses MPI.
// Only the thread that made it calls MPI (MPI_THREAD_FUNNELED): strata's
// worker threads never do.
class mpi_session {
public:
    mpi_session(int& argc, char**& argv) {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (initialized) return;
        int provided = 0;
        detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
        owns_ = true;
    }
    mpi_session(const mpi_session&) = delete;
    mpi_session& operator=(const mpi_session&) = delete;
    ~mpi_session() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (owns_ && !finalized) MPI_Finalize();
    }

private:
    bool owns_ = false;
};

// A communicator over an MPI communicator (MPI_COMM_WORLD unless given).
class mpi_communicator {
public:
    explicit mpi_communicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
        detail::check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
        detail::check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
        // Errors come back as codes (then exceptions) rather than ending the job silently.
        MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
        MPI_Comm node;
        detail::check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
                          "MPI_Comm_split_type");
        MPI_Comm_size(node, &local_size_);
        MPI_Comm_free(&node);
    }

    int rank() const noexcept { return rank_; }
    int size() const noexcept { return size_; }
    int local_size() const noexcept { return local_size_; }  // processes on this machine

    void all_reduce(std::span<float> values) { all_reduce_as(values.data(), values.size(), MPI_FLOAT); }
    void all_reduce(std::span<double> values) { all_reduce_as(values.data(), values.size(), MPI_DOUBLE); }
    void broadcast(std::span<float> values, int root) {
        broadcast_as(values.data(), values.size(), MPI_FLOAT, root);
    }
    void broadcast(std::span<double> values, int root) {
        broadcast_as(values.data(), values.size(), MPI_DOUBLE, root);
    }
    void barrier() { detail::check_mpi(MPI_Barrier(comm_), "MPI_Barrier"); }
    [[noreturn]] void abort(const std::string& message) noexcept {
        std::fprintf(stderr, "strata: rank %d of %d: %s\n", rank_, size_, message.c_str());
        std::fflush(stderr);
        MPI_Abort(comm_, 1);
        std::abort();  // MPI_Abort may return on some implementations
    }

    MPI_Comm native() const noexcept { return comm_; }

private:
    // MPI counts are int: a buffer over 2^31 values goes in pieces.
    template <class Call>
    static void in_pieces(void* data, std::size_t count, MPI_Datatype type, Call&& call) {
        int bytes = 0;
        MPI_Type_size(type, &bytes);
        auto* at = static_cast<char*>(data);
        while (count > 0) {
            const int piece = static_cast<int>(std::min<std::size_t>(count, INT_MAX));
            call(at, piece);
            at += static_cast<std::size_t>(piece) * static_cast<std::size_t>(bytes);
            count -= static_cast<std::size_t>(piece);
        }
    }
    void all_reduce_as(void* data, std::size_t count, MPI_Datatype type) {
        in_pieces(data, count, type, [&](void* at, int piece) {
            detail::check_mpi(MPI_Allreduce(MPI_IN_PLACE, at, piece, type, MPI_SUM, comm_), "MPI_Allreduce");
        });
    }
    void broadcast_as(void* data, std::size_t count, MPI_Datatype type, int root) {
        in_pieces(data, count, type, [&](void* at, int piece) {
            detail::check_mpi(MPI_Bcast(at, piece, type, root, comm_), "MPI_Bcast");
        });
    }

    MPI_Comm comm_;
    int rank_ = 0, size_ = 1, local_size_ = 1;
};

static_assert(communicator<mpi_communicator>);

}  // namespace strata
