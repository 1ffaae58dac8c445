// Run under mpirun -np 2: the MPI backend, and data-parallel training over
// two processes of one thread against one process of two threads.
// With --fail-on-rank N, rank N throws inside fit: the job must end with its
// message, not hang (the abort ctest).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <strata/distributed/mpi.hpp>
#include <strata/strata.hpp>

#include "support/compare.hpp"

namespace st = strata;
namespace aug = st::augment;
using st::testing::scaled_max_difference;

namespace {
st::mpi_communicator& world() {
    static st::mpi_communicator comm;
    return comm;
}

using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<8, 3, st::relu>, st::batch_norm,
                             st::max_pool<2>, st::flatten, st::dropout<0.3>, st::dense<10>>;
const st::loss::sparse_categorical_crossentropy logits{.from_logits = true};

}  // namespace

TEST_CASE("MPI all-reduce sums in place, bit-identical on every rank; broadcast copies the root's values") {
    auto& comm = world();
    REQUIRE(comm.size() >= 2);
    std::vector<float> v(100'003);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i % 97) * 0.25f + float(comm.rank());
    comm.all_reduce(std::span<float>(v));
    const float ranks = float(comm.size()), rank_sum = ranks * (ranks - 1) / 2;
    for (std::size_t i = 0; i < v.size(); i += 997) CHECK(v[i] == float(i % 97) * 0.25f * ranks + rank_sum);
    // Every rank holds the same bits: compare with rank 0's copy.
    std::vector<float> zero = v;
    comm.broadcast(std::span<float>(zero), 0);
    CHECK(std::memcmp(zero.data(), v.data(), v.size() * sizeof(float)) == 0);
    std::vector<double> d{double(comm.rank()) + 0.5};
    comm.broadcast(std::span<double>(d), 1);
    CHECK(d[0] == 1.5);
}

TEST_CASE("2 processes x 1 thread train what 1 process x 2 threads trains: batch 64, 100 steps, 1e-5") {
    auto& comm = world();
    const auto data = st::data::fashion_mnist();
    const auto train = st::data::take(data.train, 6400);
    const auto val = st::data::take(data.test, 500);
    const auto run = [&](net_t& net, auto... extra) {
        return st::fit(net, train, logits, st::optim::adam{.lr = 1e-3}, st::epochs{1}, st::batch_size{64},
                       st::seed{7}, st::validation{val},
                       aug::pipeline{aug::random_shift{0.1}, aug::horizontal_flip{}}, extra...);
    };
    // Ranks start from different weights: rank 0's must reach everyone.
    net_t net{st::seed{1 + std::uint64_t(comm.rank())}};
    const auto h = run(net, st::threads{1}, st::distributed{comm});
    REQUIRE(h.epochs.size() == 1);
    std::vector<float> params(net.parameters().begin(), net.parameters().end());
    // The ranks agree bit for bit.
    std::vector<float> rank0 = params;
    comm.broadcast(std::span<float>(rank0), 0);
    CHECK(rank0 == params);

    // The reference: one process of two threads (every rank computes it; it takes seconds).
    net_t reference{st::seed{1}};
    const auto one = run(reference, st::threads{2});
    const double weights = scaled_max_difference(params, reference.parameters());
    const double state = scaled_max_difference(net.state(), reference.state());
    MESSAGE("relative difference after 100 steps: weights " << weights << ", batch-norm statistics "
                                                            << state);
    CHECK(weights <= 1e-5);
    CHECK(state <= 1e-5);
    CHECK(h.epochs[0].loss == doctest::Approx(one.epochs[0].loss).epsilon(1e-5));
    CHECK(h.epochs[0].val_accuracy == doctest::Approx(one.epochs[0].val_accuracy).epsilon(1e-9));

    const auto local = st::evaluate(reference, val, logits);
    const auto sharded = st::evaluate(net, val, logits, st::distributed{comm});
    CHECK(sharded.loss == doctest::Approx(local.loss).epsilon(1e-5));
    CHECK(sharded.accuracy == doctest::Approx(local.accuracy).epsilon(1e-9));
}

int main(int argc, char** argv) {
    st::mpi_session session(argc, argv);
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--fail-on-rank") == 0) {
            // Only that rank's data is bad: it fails alone while the others wait in a collective.
            auto data = st::data::take(st::data::fashion_mnist().train, 256);
            if (world().rank() == std::atoi(argv[i + 1])) data.x(3, 0, 0, 0) = std::nanf("");
            net_t net{st::seed{1}};
            st::fit(net, data, logits, st::optim::sgd{}, st::batch_size{64}, st::threads{1},
                    st::distributed{world()});
            return 0;
        }
    doctest::Context context(argc, argv);
    const int failed = context.run();
    // Every rank reports; the job fails if any rank's checks did.
    std::vector<double> failures{double(failed != 0)};
    world().all_reduce(std::span<double>(failures));
    return failures[0] > 0 ? 1 : 0;
}
