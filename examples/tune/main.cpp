// Grid search with cross-validation on Fashion-MNIST: every combination of
// the learning rates and dropout rates given (2 x 2 by default) trains on
// each of k stratified folds of a subset of the training images and is
// scored on the fold held out; the candidates are ranked by their mean
// accuracy as scikit-learn's GridSearchCV ranks them. A fit that diverges
// scores NaN (sklearn's error_score=nan) and ranks last. With --refit, the
// best candidate trains on the whole subset and is tested on the test set.
// Progress goes to the terminal; --json prints one JSON object as the last
// line of stdout.
// Usage: tune [--limit N] [--epochs N] [--folds N] [--lr X...] [--dropout X...] [--refit] [--json]
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <strata/strata.hpp>

#include "../common/example_cli.hpp"

namespace st = strata;

namespace {

using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<16, 3, st::relu>, st::max_pool<2>, st::flatten,
                             st::dense<64, st::relu>, st::dropout<0.5>, st::dense<10>>;
constexpr std::size_t dropout_index = 4;

struct interrupted {};

const CLI::Validator dropout_rate(
    [](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (!text.empty() && *end == '\0' && v >= 0 && v < 1) return {};
        return "expects a rate in [0, 1), got '" + text + "'";
    },
    "0<=X<1");

}  // namespace

int main(int argc, char** argv) {
    std::size_t limit = 6000, epochs = 2, folds = 3, batch = 64, threads = 0;
    std::uint64_t seed = 42;
    std::vector<double> lrs{1e-3, 3e-3}, dropouts{0.2, 0.5};
    std::string data_dir;
    bool refit = false, json = false;
    CLI::App app{
        "Grid search over the learning rate and the dropout rate, with stratified k-fold "
        "cross-validation on a subset of Fashion-MNIST.",
        "tune"};
    app.add_option("--limit", limit, "search on the first N training images")
        ->check(example::positive_whole)
        ->capture_default_str();
    app.add_option("--epochs", epochs, "training epochs per fit")
        ->check(example::positive_whole)
        ->capture_default_str();
    app.add_option("--folds", folds, "cross-validation folds (at least 2)")
        ->check(CLI::Range(std::size_t{2}, std::size_t{100}))
        ->capture_default_str();
    app.add_option("--batch", batch, "mini-batch size")
        ->check(example::positive_whole)
        ->capture_default_str();
    app.add_option("--lr", lrs, "Adam learning rates to try")
        ->check(example::real_above(0, true))
        ->capture_default_str();
    app.add_option("--dropout", dropouts, "dropout rates to try (before the last dense layer)")
        ->check(dropout_rate)
        ->capture_default_str();
    app.add_option("--threads", threads, "worker threads per fit (default: one per core)")
        ->check(example::positive_whole);
    app.add_option("--seed", seed, "seed for the folds, the weights, shuffling and dropout")
        ->capture_default_str();
    app.add_option("--data", data_dir, "directory with the Fashion-MNIST IDX files");
    app.add_flag("--refit", refit,
                 "train the best candidate on the whole subset and test it on the test set");
    app.add_flag("--json", json, "print one JSON object with the results as the last line of stdout");
    example::parse_or_exit(app, argc, argv);
    // With --json, stdout carries only the JSON line; people still see progress on stderr.
    std::ostream& human = json ? std::cerr : std::cout;
    try {
        const auto data = st::data::fashion_mnist(data_dir);
        const auto train = st::data::take(data.train, std::min(limit, data.train.size()));
        const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};

        // Every fit starts from the same weights, so the candidates differ only by their parameters.
        auto fit = [&](const st::param_set& p, const st::data::dataset<float>& d, net_t& net) {
            net.layer<dropout_index>().set_rate(p["dropout"]);
            const auto h = st::fit(net, d, loss, st::optim::adam{.lr = p["lr"]}, st::epochs{epochs},
                                   st::batch_size{batch}, st::seed{seed}, st::threads{threads});
            if (h.cause == st::stop_cause::interrupted) throw interrupted{};
            if (h.cause == st::stop_cause::bad_step) human << "  " << h.stop_reason << "\n";
            return h.cause != st::stop_cause::bad_step;
        };
        auto run_fold = [&](const st::param_set& p, const st::data::dataset<float>& fold_train,
                            const st::data::dataset<float>& fold_test) {
            net_t net{st::seed{seed}};
            if (!fit(p, fold_train, net)) return st::fold_scores{{"accuracy", NAN}, {"loss", NAN}};
            return st::scores_of(st::evaluate(net, fold_test, loss, st::threads{threads}));
        };
        const st::param_grid grid{{"lr", lrs}, {"dropout", dropouts}};
        const st::grid_search_options options{.cv = {.folds = folds, .seed = seed, .progress = &human}};
        human << "grid search on " << train.size() << " images: " << lrs.size() * dropouts.size()
              << " candidates, " << folds << "-fold stratified cross-validation, " << epochs
              << " epoch(s) per fit\n";

        std::optional<st::evaluation> test;
        const auto result =
            refit ? st::grid_search(grid, train, run_fold, options,
                                    [&](const st::param_set& best, const st::data::dataset<float>& all) {
                                        net_t net{st::seed{seed}};
                                        if (fit(best, all, net))
                                            test = st::evaluate(net, data.test, loss, st::threads{threads});
                                    })
                  : st::grid_search(grid, train, run_fold, options);

        human << "\n" << st::to_string(result);
        if (test)
            human << std::fixed << std::setprecision(4) << "refit on all " << train.size()
                  << " images: test accuracy " << test->accuracy << ", test loss " << test->loss << "\n";
        if (json) {
            std::ostringstream j;
            j << "{\"train_images\": " << train.size() << ", \"epochs\": " << epochs
              << ", \"folds\": " << folds << ", \"batch\": " << batch << ", \"seed\": " << seed
              << ", \"grid_search\": " << st::to_json(result)
              << ", \"test_accuracy\": " << (test ? example::json_number(test->accuracy) : "null") << "}";
            std::cout << j.str() << std::endl;
        }
        return 0;
    } catch (const interrupted&) {
        std::cerr << "tune: interrupted\n";
        return 130;
    } catch (const std::exception& e) {
        std::cerr << "tune: " << e.what() << "\n";
        return 1;
    }
}
