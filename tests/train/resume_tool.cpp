// Trains the same small run three ways for resume_check.py: 4 epochs in one
// go (full), 2 epochs with a checkpoint (first), and the last 2 resumed from
// that checkpoint in a new process (resume). Adam, batch_norm, dropout,
// augmentation and a cosine schedule, two threads.
// usage: resume_tool full|first|resume DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <strata/model/model_file.hpp>
#include <strata/strata.hpp>

namespace st = strata;

namespace {
using net_t =
    st::sequential<st::input<28, 28, 1>, st::conv2d<8, 3, st::relu>, st::batch_norm, st::max_pool<2>,
                   st::flatten, st::dense<32, st::relu>, st::dropout<0.3>, st::dense<10>>;

void write_history(const st::history& h, const std::filesystem::path& file) {
    std::ofstream out(file);
    char line[256];
    for (const auto& e : h.epochs) {
        std::snprintf(line, sizeof line, "%zu %.17g %.17g %.17g %.17g %.17g\n", e.epoch, e.loss, e.accuracy,
                      e.val_loss, e.val_accuracy, e.learning_rate);
        out << line;
    }
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: resume_tool full|first|resume DIR\n";
        return 2;
    }
    const std::string mode = argv[1];
    const std::filesystem::path dir = argv[2];
    try {
        const auto data = st::data::fashion_mnist();
        const auto train = st::data::take(data.train, 1024), test = st::data::take(data.test, 512);
        net_t net{st::seed{7}};
        const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
        const st::schedule::cosine_decay rate{.decay_steps = 4 * 16, .alpha = 0.0};
        const st::augment::pipeline pipeline{st::augment::random_shift{0.1}, st::augment::horizontal_flip{}};
        auto run = [&](std::size_t epochs, const auto&... extra) {
            return st::fit(net, train, loss, st::optim::adam{}, st::epochs{epochs}, st::batch_size{64},
                           st::seed{7}, st::threads{2}, st::validation{test}, rate, pipeline, extra...);
        };
        if (mode == "full") {
            write_history(run(4), dir / "full.history");
            st::save(net, dir / "full.npz");
        } else if (mode == "first") {
            run(2, st::checkpoint{.path = (dir / "checkpoint.npz").string()});
        } else if (mode == "resume") {
            write_history(run(4, st::resume_from{dir / "checkpoint.npz"}), dir / "resumed.history");
            st::save(net, dir / "resumed.npz");
        } else {
            std::cerr << "resume_tool: unknown mode " << mode << "\n";
            return 2;
        }
    } catch (const std::exception& e) {
        std::cerr << "resume_tool: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
