// Data-parallel fit over ranks that are threads of this program (the MPI
// backend is tested under mpirun by mpi_equivalence.cpp): the ranks train
// exactly what one process trains on the whole batch.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <vector>

#include <doctest/doctest.h>
#include <strata/model/model_file.hpp>
#include <strata/strata.hpp>

#include "support/compare.hpp"

#include "support/thread_communicator.hpp"

namespace st = strata;
namespace aug = st::augment;
using st::testing::run_ranks;
using st::testing::scaled_max_difference;
using st::testing::thread_communicator;

namespace {
// Batch norm (statistics over the whole batch), dropout (masks by sample
// position) and augmentation (draws by sample position): the parts that
// break if a rank's share is treated as a batch of its own.
using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<8, 3, st::relu>, st::batch_norm,
                             st::max_pool<2>, st::flatten, st::dropout<0.3>, st::dense<10>>;
const st::loss::sparse_categorical_crossentropy logits{.from_logits = true};

const st::data::fashion_mnist_set& fashion() {
    static const auto data = st::data::fashion_mnist();
    return data;
}

template <class Net>
struct trained {
    std::vector<typename Net::scalar_type> parameters, state;
    st::history history;
};
template <class Net>
trained<Net> result_of(const Net& net, st::history h) {
    return {{net.parameters().begin(), net.parameters().end()},
            {net.state().begin(), net.state().end()},
            std::move(h)};
}

void check_same_history(const st::history& ranks, const st::history& one) {
    REQUIRE(ranks.epochs.size() == one.epochs.size());
    for (std::size_t e = 0; e < one.epochs.size(); ++e) {
        const auto &a = ranks.epochs[e], &b = one.epochs[e];
        CHECK(a.loss == doctest::Approx(b.loss).epsilon(1e-6));
        CHECK(a.accuracy == doctest::Approx(b.accuracy).epsilon(1e-9));
        CHECK(a.val_loss == doctest::Approx(b.val_loss).epsilon(1e-6));
        CHECK(a.val_accuracy == doctest::Approx(b.val_accuracy).epsilon(1e-9));
        REQUIRE(a.metrics.size() == b.metrics.size());
        for (std::size_t m = 0; m < a.metrics.size(); ++m) {
            CHECK(a.metrics[m].first == b.metrics[m].first);
            CHECK(a.metrics[m].second == doctest::Approx(b.metrics[m].second).epsilon(1e-6));
        }
    }
}
}  // namespace

TEST_CASE("two ranks of one thread train what one process of two threads trains, batch 64, 100 steps") {
    const auto train = st::data::take(fashion().train, 6400);
    const auto val = st::data::take(fashion().test, 500);
    const auto run = [&](net_t& net, auto... extra) {
        return st::fit(net, train, logits, st::optim::adam{.lr = 1e-3}, st::epochs{1}, st::batch_size{64},
                       st::seed{7}, st::validation{val}, st::metrics::top_k{2},
                       aug::pipeline{aug::random_shift{0.1}, aug::horizontal_flip{}}, extra...);
    };
    net_t reference{st::seed{1}};
    const auto one = result_of(reference, run(reference, st::threads{2}));

    std::vector<trained<net_t>> ranks(2);
    const auto aborted = run_ranks(2, [&](thread_communicator& comm) {
        // Rank 1 starts elsewhere: rank 0's weights must reach it.
        net_t net{st::seed{comm.rank() == 0 ? 1u : 99u}};
        ranks[comm.rank()] = result_of(net, run(net, st::threads{1}, st::distributed{comm}));
    });
    REQUIRE(aborted.empty());
    for (const auto& r : ranks) {
        CHECK(scaled_max_difference(r.parameters, one.parameters) <= 1e-5);
        CHECK(scaled_max_difference(r.state, one.state) <= 1e-5);  // synchronised batch norm
        check_same_history(r.history, one.history);
    }
    // The ranks agree bit for bit: a sum in rank order is the same everywhere.
    CHECK(ranks[0].parameters == ranks[1].parameters);
    // And training did something.
    net_t untrained{st::seed{1}};
    CHECK(scaled_max_difference(one.parameters, untrained.parameters()) > 1e-2);
}

namespace {
using small_net = st::basic_sequential<double, st::input<4, 4, 2>, st::conv2d<3, 3, st::relu>, st::batch_norm,
                                       st::flatten, st::dropout<0.2>, st::dense<3>>;

st::data::dataset<double> small_images(std::size_t n) {
    st::data::dataset<double> d;
    d.x = xt::xtensor<double, 4>::from_shape({n, 4, 4, 2});
    d.y = xt::xtensor<double, 2>::from_shape({n, 1});
    st::rng r(5);
    for (std::size_t i = 0; i < d.x.size(); ++i) d.x.data()[i] = r.uniform(-1, 1);
    for (std::size_t i = 0; i < n; ++i) d.y.data()[i] = double((i * 7) % 3);
    return d;
}
}  // namespace

TEST_CASE("three ranks with shares of unequal size, some empty, train what one process trains") {
    // 31 samples in batches of 10: the last batch has one sample, so two ranks get nothing.
    const auto data = small_images(31);
    const auto val = small_images(13);
    std::vector<double> sample_w(31);
    for (std::size_t i = 0; i < sample_w.size(); ++i) sample_w[i] = 0.5 + double(i % 4) * 0.25;
    const auto run = [&](small_net& net, auto... extra) {
        return st::fit(net, data, logits, st::optim::sgd{.lr = 0.1, .momentum = 0.9}, st::epochs{3},
                       st::batch_size{10}, st::seed{3}, st::validation{val},
                       st::class_weights{{1.0, 2.0, 0.5}}, st::sample_weights{sample_w},
                       st::metrics::top_k{2}, aug::pipeline{aug::horizontal_flip{}}, extra...);
    };
    small_net reference{st::seed{2}};
    const auto one = result_of(reference, run(reference, st::threads{1}));
    const auto expected_eval = st::evaluate(reference, val, logits, st::batch_size{4});

    std::vector<trained<small_net>> ranks(3);
    std::vector<st::evaluation> evaluations(3);
    const auto aborted = run_ranks(3, [&](thread_communicator& comm) {
        small_net net{st::seed{2}};
        ranks[comm.rank()] = result_of(net, run(net, st::threads{2}, st::distributed{comm}));
        evaluations[comm.rank()] = st::evaluate(net, val, logits, st::batch_size{4}, st::distributed{comm});
    });
    REQUIRE(aborted.empty());
    for (std::size_t r = 0; r < ranks.size(); ++r) {
        CAPTURE(r);
        CHECK(scaled_max_difference(ranks[r].parameters, one.parameters) <= 1e-12);
        CHECK(scaled_max_difference(ranks[r].state, one.state) <= 1e-12);
        check_same_history(ranks[r].history, one.history);
        // evaluate shards the data set and sums across ranks.
        CHECK(evaluations[r].loss == doctest::Approx(expected_eval.loss).epsilon(1e-12));
        CHECK(evaluations[r].accuracy == expected_eval.accuracy);
        REQUIRE(evaluations[r].confusion.classes() == 3);
        for (std::size_t t = 0; t < 3; ++t)
            for (std::size_t p = 0; p < 3; ++p)
                CHECK(evaluations[r].confusion(t, p) == expected_eval.confusion(t, p));
    }
}

TEST_CASE(
    "without synchronised batch norm each rank normalises by its own share, and the ranks still agree") {
    const auto data = small_images(31);  // the last batch of 1 leaves rank 0 without samples
    small_net reference{st::seed{2}};
    st::fit(reference, data, logits, st::optim::sgd{.lr = 0.1}, st::epochs{2}, st::batch_size{10},
            st::threads{1});
    std::vector<trained<small_net>> ranks(2);
    REQUIRE(run_ranks(2, [&](thread_communicator& comm) {
                small_net net{st::seed{2}};
                ranks[comm.rank()] =
                    result_of(net, st::fit(net, data, logits, st::optim::sgd{.lr = 0.1}, st::epochs{2},
                                           st::batch_size{10}, st::threads{1},
                                           st::distributed{.comm = comm, .synchronise_batch_norm = false}));
            }).empty());
    CHECK(ranks[0].parameters == ranks[1].parameters);  // the gradients are still summed
    CHECK(ranks[0].state == ranks[1].state);            // rank 0's moving statistics, copied after each epoch
    CHECK(
        std::all_of(ranks[0].state.begin(), ranks[0].state.end(), [](double v) { return std::isfinite(v); }));
    // Half-batch statistics are not the whole batch's: the training differs from one process's.
    CHECK(scaled_max_difference(ranks[0].parameters, reference.parameters()) > 1e-6);
}

TEST_CASE("only rank 0 prints progress and writes logs and checkpoints") {
    const auto data = small_images(20);
    const auto dir = std::filesystem::temp_directory_path() / "strata_data_parallel_outputs";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::vector<std::ostringstream> printed(2);
    const auto aborted = run_ranks(2, [&](thread_communicator& comm) {
        small_net net{st::seed{2}};
        // Each rank is given its own paths so a write by rank 1 would show.
        const auto mine = dir / ("rank" + std::to_string(comm.rank()));
        st::fit(net, data, logits, st::optim::sgd{.lr = 0.1}, st::epochs{2}, st::batch_size{8},
                st::threads{1}, st::distributed{comm}, st::progress{printed[comm.rank()], false},
                st::csv_logger{.path = mine.string() + ".csv"},
                st::checkpoint{.path = mine.string() + "_checkpoint.strata"},
                st::model_checkpoint{.path = mine.string() + "_weights"});
    });
    REQUIRE(aborted.empty());
    CHECK(printed[0].str().find("Epoch 2/2") != std::string::npos);
    CHECK(printed[1].str().empty());
    CHECK(std::filesystem::exists(dir / "rank0.csv"));
    CHECK(std::filesystem::exists(dir / "rank0_checkpoint.strata"));
    CHECK(std::filesystem::exists(dir / "rank0_weights"));
    CHECK_FALSE(std::filesystem::exists(dir / "rank1.csv"));
    CHECK_FALSE(std::filesystem::exists(dir / "rank1_checkpoint.strata"));
    CHECK_FALSE(std::filesystem::exists(dir / "rank1_weights"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("a checkpoint written by three ranks resumes on two and on one alike") {
    const auto data = small_images(31);
    const auto dir = std::filesystem::temp_directory_path() / "strata_data_parallel_resume";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const auto saved = (dir / "after_epoch_{epoch}.strata").string();
    const auto opt = st::optim::adam{.lr = 0.01};
    small_net straight{st::seed{4}};
    st::fit(straight, data, logits, opt, st::epochs{3}, st::batch_size{10}, st::seed{9}, st::threads{1});

    REQUIRE(run_ranks(3, [&](thread_communicator& comm) {
                small_net net{st::seed{4}};
                st::fit(net, data, logits, opt, st::epochs{1}, st::batch_size{10}, st::seed{9},
                        st::threads{1}, st::distributed{comm}, st::checkpoint{.path = saved});
            }).empty());
    std::vector<std::vector<double>> resumed(2);
    REQUIRE(run_ranks(2, [&](thread_communicator& comm) {
                small_net net{st::seed{77}};
                st::fit(net, data, logits, opt, st::epochs{3}, st::batch_size{10}, st::seed{9},
                        st::threads{1}, st::distributed{comm}, st::resume_from{dir / "after_epoch_1.strata"});
                resumed[comm.rank()].assign(net.parameters().begin(), net.parameters().end());
            }).empty());
    for (const auto& r : resumed) CHECK(scaled_max_difference(r, straight.parameters()) <= 1e-12);
    std::filesystem::remove_all(dir);
}

TEST_CASE("ranks that disagree on the data end the job with a message naming the difference") {
    const auto aborted = run_ranks(2, [&](thread_communicator& comm) {
        const auto data = small_images(comm.rank() == 0 ? 20 : 18);
        small_net net{st::seed{2}};
        st::fit(net, data, logits, st::optim::sgd{.lr = 0.1}, st::epochs{1}, st::batch_size{8},
                st::threads{1}, st::distributed{comm});
    });
    CHECK(aborted.find("rank 1") != std::string::npos);
    CHECK(aborted.find("has training samples 18 but rank 0 has 20;") != std::string::npos);
}

TEST_CASE("a rank that fails alone ends the job instead of leaving the others waiting") {
    const auto aborted = run_ranks(2, [&](thread_communicator& comm) {
        auto data = small_images(16);
        if (comm.rank() == 1) data.x(3, 1, 1, 0) = std::nan("");  // only rank 1's copy is bad
        small_net net{st::seed{2}};
        st::fit(net, data, logits, st::optim::sgd{.lr = 0.1}, st::epochs{1}, st::batch_size{8},
                st::threads{1}, st::distributed{comm});
    });
    CHECK(aborted.find("rank 1") != std::string::npos);
    CHECK(aborted.find("sample 3 has a non-finite value") != std::string::npos);
}
