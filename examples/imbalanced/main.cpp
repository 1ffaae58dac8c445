// Class imbalance on real images, as the articles behind strata show it:
// Fashion-MNIST's three most easily confused classes (shirt, pullover, coat)
// are cut to 2% of their training images; the data set is written as a PNG
// folder tree and loaded back with the image-folder loader; then one network
// is trained three ways: (a) plainly, (b) with balanced class weights,
// (c) on a randomly oversampled training set. For each it prints per-class
// recall, macro F1 and the confusion matrix of the (whole) test set; --json
// prints one JSON object as the last line.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <strata/data/image_folder.hpp>
#include <strata/strata.hpp>

#include "../common/example_cli.hpp"

namespace st = strata;
namespace fs = std::filesystem;

using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<32, 3, st::relu>, st::max_pool<2>,
                             st::conv2d<64, 3, st::relu>, st::max_pool<2>, st::flatten,
                             st::dense<128, st::relu>, st::dense<10>>;

namespace {

constexpr std::size_t minority[] = {2, 4, 6};  // pullover, coat, shirt

struct options : example::training_flags {
    double keep = 0.02;
    std::string folder;
};

// The first `keep` share of each minority class's training images, all of the others.
st::data::dataset<float> imbalanced(const st::data::dataset<float>& train, double keep) {
    const auto counts = st::data::class_counts(train, 10);
    std::vector<std::size_t> kept_of(10, 0), picked;
    for (std::size_t i = 0; i < train.size(); ++i) {
        const auto c = static_cast<std::size_t>(train.y(i, 0));
        const bool rare = std::find(std::begin(minority), std::end(minority), c) != std::end(minority);
        const std::size_t limit =
            rare ? static_cast<std::size_t>(keep * static_cast<double>(counts[c])) : counts[c];
        if (kept_of[c] < limit) ++kept_of[c], picked.push_back(i);
    }
    return st::data::subset(train, picked);
}

struct outcome {
    std::string name;
    st::evaluation test;
    st::history history;
    std::size_t train_images = 0;
    double minority_recall = 0;
};

}  // namespace

int main(int argc, char** argv) {
    options opt;
    opt.epochs = 3;  // longer, the oversampled copies of the rare images are memorised (see the README)
    CLI::App app{
        "Trains on Fashion-MNIST with shirt, pullover and coat cut to 2% of their images, plainly, with "
        "balanced class weights and with oversampling, and compares their per-class recall.",
        "imbalanced"};
    app.add_option("--keep", opt.keep, "share of the minority classes' training images kept")
        ->check(example::real_above(0, true))
        ->capture_default_str();
    app.add_option("--folder", opt.folder,
                   "where the PNG folder trees are written (default: a fresh folder under the system's "
                   "temporary directory, removed at the end)");
    example::add_training_flags(app, opt);
    example::parse_or_exit(app, argc, argv);
    std::ostream& human = opt.json ? std::cerr : std::cout;
    try {
        const auto fm = st::data::fashion_mnist(opt.data_dir);
        auto train_idx = imbalanced(fm.train, opt.keep);
        if (opt.limit && opt.limit < train_idx.size()) train_idx = st::data::take(train_idx, opt.limit);
        const fs::path root = opt.folder.empty() ? fs::temp_directory_path() /
                                                       ("strata_imbalanced_" + std::to_string(::getpid()))
                                                 : fs::path(opt.folder);
        const bool remove_after = opt.folder.empty();
        fs::remove_all(root / "train");
        fs::remove_all(root / "test");
        const std::vector<std::string> names(st::data::fashion_mnist_set::class_names.begin(),
                                             st::data::fashion_mnist_set::class_names.end());
        // Folder names keep the class order: sorted names would reorder the classes.
        std::vector<std::string> folders;
        for (std::size_t c = 0; c < 10; ++c) folders.push_back(std::to_string(c) + "_" + names[c]);
        const auto t0 = std::chrono::steady_clock::now();
        st::data::write_image_folder(train_idx, root / "train", folders);
        st::data::write_image_folder(fm.test, root / "test", folders);
        st::data::image_folder_options load;
        load.height = 28, load.width = 28, load.color = st::image::color_mode::grayscale;
        load.workers = st::threads{opt.threads};
        const auto train = st::data::load_image_folder(root / "train", load);
        const auto test = st::data::load_image_folder(root / "test", load);
        const double io_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (remove_after) fs::remove_all(root);
        const auto counts = st::data::class_counts(train.data, 10);
        human << "wrote and loaded " << train.data.size() + test.data.size() << " PNG images in "
              << std::fixed << std::setprecision(1) << io_seconds << " s; training images per class:";
        for (std::size_t c = 0; c < 10; ++c) human << " " << counts[c];
        human << "\n";

        const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
        auto run = [&](const std::string& name, const st::data::dataset<float>& data, const auto&... extra) {
            net_t net{st::seed{opt.seed}};
            human << "\n(" << name << ") training on " << data.size() << " images\n";
            outcome o{name, {}, {}, data.size(), 0};
            o.history = st::fit(net, data, loss, st::optim::adam{.lr = 1e-3}, st::epochs{opt.epochs},
                                st::batch_size{opt.batch}, st::seed{opt.seed}, st::threads{opt.threads},
                                st::progress{human}, extra...);
            o.test = st::evaluate(net, test.data, loss, st::threads{opt.threads});
            for (const std::size_t c : minority) o.minority_recall += o.test.confusion.recall(c) / 3.0;
            human << st::metrics::classification_report(o.test.confusion, names, 3) << "confusion matrix\n"
                  << st::metrics::to_string(o.test.confusion, names);
            return o;
        };
        std::vector<outcome> runs;
        runs.push_back(run("plain", train.data));
        runs.push_back(run("class_weights", train.data, st::class_weights::balanced(train.data, 10)));
        runs.push_back(run("oversampled", st::data::random_oversample(train.data, 10, opt.seed)));

        human << "\n"
              << std::left << std::setw(15) << "run" << std::right << std::setw(10) << "accuracy"
              << std::setw(10) << "macro F1" << std::setw(18) << "minority recall"
              << "   recall: pullover coat shirt\n";
        for (const auto& o : runs) {
            human << std::left << std::setw(15) << o.name << std::right << std::setprecision(4)
                  << std::setw(10) << o.test.accuracy << std::setw(10) << o.test.confusion.macro().f1
                  << std::setw(18) << o.minority_recall << "   ";
            for (const std::size_t c : minority) human << " " << o.test.confusion.recall(c);
            human << "\n";
        }
        if (opt.json) {
            std::ostringstream j;
            j << std::setprecision(6) << "{\"keep\": " << opt.keep << ", \"epochs\": " << opt.epochs
              << ", \"seed\": " << opt.seed << ", \"train_counts\": [";
            for (std::size_t c = 0; c < 10; ++c) j << (c ? ", " : "") << counts[c];
            j << "], \"runs\": {";
            for (std::size_t r = 0; r < runs.size(); ++r) {
                const auto& o = runs[r];
                j << (r ? ", " : "") << "\"" << o.name
                  << "\": {\"test_accuracy\": " << example::json_number(o.test.accuracy)
                  << ", \"macro_f1\": " << example::json_number(o.test.confusion.macro().f1)
                  << ", \"minority_recall\": " << example::json_number(o.minority_recall)
                  << ", \"train_images\": " << o.train_images
                  << ", \"train_seconds\": " << o.history.train_seconds()
                  << example::json_class_metrics(o.test.confusion, names) << "}";
            }
            j << "}}";
            std::cout << j.str() << std::endl;
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "imbalanced: " << e.what() << "\n";
        return 1;
    }
}
