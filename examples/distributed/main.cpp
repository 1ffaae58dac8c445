// Trains Fashion-MNIST data-parallel over the processes of an MPI job:
//   mpirun -np 2 build/examples/distributed --threads 1
// Every process loads the data and runs the same fit; each step, each one
// trains its share of the global batch and the gradients are summed across
// processes (MPI_Allreduce). Rank 0 prints progress and the results. Run
// without mpirun it is one process, like examples/fashion_mnist.
#include <chrono>
#include <iomanip>
#include <iostream>

#include <strata/distributed/mpi.hpp>

#include <strata/strata.hpp>
#include "../common/example_cli.hpp"

namespace st = strata;

namespace {

using reference_net = st::models::fashion_mnist_cnn;
using bn_net = st::models::fashion_mnist_cnn_bn;

// Times the all-reduces, to report the share of training spent in them.
class timed_communicator {
public:
    explicit timed_communicator(st::mpi_communicator& inner) : inner_(&inner) {}
    int rank() const noexcept { return inner_->rank(); }
    int size() const noexcept { return inner_->size(); }
    void all_reduce(std::span<float> v) {
        timed([&] { inner_->all_reduce(v); });
    }
    void all_reduce(std::span<double> v) {
        timed([&] { inner_->all_reduce(v); });
    }
    void broadcast(std::span<float> v, int root) { inner_->broadcast(v, root); }
    void broadcast(std::span<double> v, int root) { inner_->broadcast(v, root); }
    void barrier() { inner_->barrier(); }
    [[noreturn]] void abort(const std::string& message) { inner_->abort(message); }
    double seconds() const noexcept { return seconds_; }

private:
    template <class F>
    void timed(F&& f) {
        const auto start = std::chrono::steady_clock::now();
        f();
        seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    st::mpi_communicator* inner_;
    double seconds_ = 0;
};

struct options : example::training_flags {
    std::string variant = "reference";
};

template <class Net>
int train(const options& opt, st::mpi_communicator& mpi) {
    const bool main_process = mpi.rank() == 0;
    // With --json, stdout carries only rank 0's JSON line; progress goes to stderr.
    std::ostream& human = opt.json ? std::cerr : std::cout;
    auto data = st::data::fashion_mnist(opt.data_dir);
    if (opt.limit && opt.limit < data.train.size()) data.train = st::data::take(data.train, opt.limit);
    Net net{st::seed{opt.seed}};
    // fit's default: the cores divided by the processes on this machine.
    const std::size_t threads =
        opt.threads ? opt.threads
                    : std::max<std::size_t>(1, st::resolve_thread_count({}) / std::size_t(mpi.local_size()));
    if (main_process)
        human << st::summary(net) << "training on " << data.train.size() << " images with " << mpi.size()
              << " process(es) x " << threads << " thread(s), global batch " << opt.batch << "\n";
    timed_communicator comm(mpi);
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    const auto history =
        st::fit(net, data.train, loss, st::optim::adam{.lr = 1e-3}, st::epochs{opt.epochs},
                st::batch_size{opt.batch}, st::seed{opt.seed}, st::threads{opt.threads},
                st::validation{data.test}, st::distributed{comm}, st::progress{human},
                example::early_stopping_from(opt), example::checkpoint_from(opt), example::resume_from(opt));
    const double reduce_seconds = comm.seconds();
    const auto test = st::evaluate(net, data.test, loss, st::threads{opt.threads}, st::distributed{comm});
    if (!main_process) return example::exit_code(history);

    double images = 0, seconds = 0;
    for (const auto& e : history.epochs) {
        images += e.images_per_second * e.seconds;
        seconds += e.seconds;
    }
    const double share = reduce_seconds / seconds;
    human << std::fixed << std::setprecision(4) << "test accuracy " << test.accuracy << ", test loss "
          << test.loss << "; " << std::setprecision(0) << images / seconds << " images/s over " << mpi.size()
          << " process(es); " << std::setprecision(1) << 100 * share
          << "% of the time in all-reduce (rank 0)\n";
    if (opt.json) {
        std::ostringstream extra;
        extra << ", \"processes\": " << mpi.size() << ", \"threads_per_process\": " << threads
              << ", \"allreduce_share\": " << example::json_number(share);
        const example::training_report r{.test_accuracy = test.accuracy,
                                         .test_loss = test.loss,
                                         .train_images = data.train.size(),
                                         .batch = opt.batch,
                                         .seed = opt.seed,
                                         .variant = opt.variant,
                                         .lr_schedule = "constant",
                                         .extra = extra.str()};
        std::cout << example::json_line(r, history) << std::endl;
    }
    return example::exit_code(history);
}

}  // namespace

int main(int argc, char** argv) {
    st::mpi_session session(argc, argv);
    options opt;
    CLI::App app{"Trains Fashion-MNIST data-parallel over the processes of an MPI job (run under mpirun).",
                 "distributed"};
    app.add_option("--variant", opt.variant,
                   "reference, or bn: batch_norm after each convolution (synchronised)")
        ->check(CLI::IsMember({"reference", "bn"}))
        ->capture_default_str();
    example::add_training_flags(app, opt);
    st::mpi_communicator mpi;
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // Every rank parses the same line; only rank 0 explains.
        return mpi.rank() == 0 ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 2);
    }
    try {
        return opt.variant == "bn" ? train<bn_net>(opt, mpi) : train<reference_net>(opt, mpi);
    } catch (const std::exception& e) {
        // Failures inside fit have already ended the job; this is for the rest (loading the data).
        mpi.abort(std::string("distributed: ") + e.what());
    }
}
