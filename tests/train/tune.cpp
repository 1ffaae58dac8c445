// cross_validate and grid_search: ParameterGrid's order and GridSearchCV's
// means, deviations and ranks against scikit-learn (references written by
// tests/data/split_reference.py when the conformance suite runs), summaries
// by hand, the text and JSON reports, errors, and a real 3-fold
// cross-validation of a small network on Fashion-MNIST.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <strata/strata.hpp>

namespace st = strata;
namespace sd = strata::data;
namespace fs = std::filesystem;

namespace {

// split_reference.py's reference.txt ("key value value ..." per line), or
// nothing when the conformance suite is off.
const std::map<std::string, std::vector<std::string>>* sklearn_references() {
    static const auto entries = [] {
        std::map<std::string, std::vector<std::string>> out;
        const char* root = std::getenv("STRATA_SPLIT_DIR");
        if (!root) return out;
        std::ifstream in(fs::path(root) / "reference.txt");
        REQUIRE_MESSAGE(in, "STRATA_SPLIT_DIR is set but holds no reference.txt");
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream words(line);
            std::string key, word;
            words >> key;
            while (words >> word) out[key].push_back(word);
        }
        return out;
    }();
    return entries.empty() ? nullptr : &entries;
}
std::vector<double> numbers(const std::vector<std::string>& words) {
    std::vector<double> out;
    for (const auto& w : words) out.push_back(w == "nan" ? std::nan("") : std::stod(w));
    return out;
}

// A data set of n samples whose x holds the sample's index, y its class.
sd::dataset<float> indexed(std::size_t n, std::size_t classes) {
    sd::dataset<float> d;
    d.x = xt::xtensor<float, 4>::from_shape({n, 1, 1, 1});
    d.y = xt::xtensor<float, 2>::from_shape({n, 1});
    for (std::size_t i = 0; i < n; ++i) {
        d.x.data()[i] = float(i);
        d.y.data()[i] = float(i % classes);
    }
    return d;
}

// Splits whose test parts are samples 2f and 2f + 1 of fold f.
std::vector<sd::index_split> pair_splits(std::size_t folds) {
    std::vector<sd::index_split> out(folds);
    for (std::size_t f = 0; f < folds; ++f)
        for (std::size_t i = 0; i < 2 * folds; ++i) (i / 2 == f ? out[f].test : out[f].train).push_back(i);
    return out;
}

// Fold f of candidate a scores table[a][f]: grid_search over one parameter "a".
st::grid_search_result search_table(const std::vector<std::vector<double>>& table, bool greater_is_better) {
    const std::size_t folds = table.front().size();
    st::param_grid grid{{"a", {}}};
    for (std::size_t a = 0; a < table.size(); ++a) grid[0].values.push_back(double(a));
    return st::grid_search(
        grid, indexed(2 * folds, 2),
        [&](const st::param_set& p, const sd::dataset<float>& train, const sd::dataset<float>& test,
            std::size_t fold) {
            CHECK(train.size() == 2 * folds - 2);
            CHECK(test.x.data()[0] == float(2 * fold));  // the fold's own samples
            return st::fold_scores{{"score", table[p.whole("a")][fold]}};
        },
        {.scoring = "score", .greater_is_better = greater_is_better, .cv = {.splits = pair_splits(folds)}});
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

}  // namespace

TEST_CASE("parameter_grid enumerates candidates in sklearn's ParameterGrid order") {
    // Names sorted, the last varying fastest.
    const auto grid = st::parameter_grid({{"lr", {0.1, 0.01}}, {"dropout", {0.0, 0.5, 0.25}}});
    REQUIRE(grid.size() == 6);
    const double expected[6][2] = {{0.0, 0.1},  {0.0, 0.01}, {0.5, 0.1},
                                   {0.5, 0.01}, {0.25, 0.1}, {0.25, 0.01}};
    for (std::size_t c = 0; c < 6; ++c) {
        REQUIRE(grid[c].values.size() == 2);
        CHECK(grid[c].values[0].first == "dropout");
        CHECK(grid[c].values[1].first == "lr");
        CHECK(grid[c]["dropout"] == expected[c][0]);
        CHECK(grid[c]["lr"] == expected[c][1]);
    }
    CHECK(st::to_string(grid[3]) == "dropout=0.5, lr=0.01");
    const auto empty = st::parameter_grid({});
    REQUIRE(empty.size() == 1);  // as sklearn: one candidate without parameters
    CHECK(empty[0].values.empty());

    const auto* ref = sklearn_references();
    if (!ref) {
        MESSAGE(
            "STRATA_SPLIT_DIR is not set (conformance suite off): ParameterGrid not compared with sklearn");
        return;
    }
    for (std::size_t g = 0; ref->contains("grid" + std::to_string(g) + ".input_names"); ++g) {
        const std::string key = "grid" + std::to_string(g);
        CAPTURE(key);
        st::param_grid input;
        for (const auto& name : ref->at(key + ".input_names"))
            input.push_back({name, numbers(ref->at(key + ".values." + name))});
        const auto candidates = st::parameter_grid(input);
        const auto& names = ref->at(key + ".sorted_names");
        REQUIRE(candidates.size() == std::size_t(numbers(ref->at(key + ".candidate_count"))[0]));
        for (std::size_t c = 0; c < candidates.size(); ++c) {
            const auto values = numbers(ref->at(key + ".candidate" + std::to_string(c)));
            REQUIRE(candidates[c].values.size() == names.size());
            for (std::size_t i = 0; i < names.size(); ++i) {
                CHECK(candidates[c].values[i].first == names[i]);
                CHECK(candidates[c].values[i].second == values[i]);
            }
        }
    }
}

TEST_CASE("grid_search's means, deviations and ranks equal GridSearchCV's") {
    const auto* ref = sklearn_references();
    if (!ref) {
        MESSAGE("STRATA_SPLIT_DIR is not set (conformance suite off): ranks not compared with sklearn");
        return;
    }
    for (std::size_t t = 0; ref->contains("rank" + std::to_string(t) + ".shape"); ++t) {
        const std::string key = "rank" + std::to_string(t);
        CAPTURE(key);
        const auto shape = numbers(ref->at(key + ".shape"));
        const auto flat = numbers(ref->at(key + ".scores"));
        const std::size_t candidates = std::size_t(shape[0]), folds = std::size_t(shape[1]);
        std::vector<std::vector<double>> table(candidates), negated(candidates);
        for (std::size_t a = 0; a < candidates; ++a)
            for (std::size_t f = 0; f < folds; ++f) {
                table[a].push_back(flat[a * folds + f]);
                negated[a].push_back(-flat[a * folds + f]);
            }
        const auto mean = numbers(ref->at(key + ".mean")), std = numbers(ref->at(key + ".std")),
                   rank = numbers(ref->at(key + ".rank"));
        const auto best_index = std::size_t(numbers(ref->at(key + ".best_index"))[0]);
        const double best_score = numbers(ref->at(key + ".best_score"))[0];
        const auto r = search_table(table, true);
        // A loss ranked lowest first ranks as sklearn ranks its negation.
        const auto lower = search_table(negated, false);
        REQUIRE(r.candidates.size() == candidates);
        for (std::size_t a = 0; a < candidates; ++a) {
            CAPTURE(a);
            CHECK(same(r.candidates[a].scores.mean.at("score"), mean[a]));  // to the last bit
            CHECK(same(r.candidates[a].scores.std.at("score"), std[a]));
            CHECK(r.candidates[a].rank == std::size_t(rank[a]));
            CHECK(lower.candidates[a].rank == std::size_t(rank[a]));
        }
        CHECK(r.best_index == best_index);
        CHECK(same(r.best_score, best_score));
        CHECK(r.best_params["a"] == double(best_index));
        CHECK(lower.best_index == best_index);
        CHECK(same(lower.best_score, -best_score));
    }
}

TEST_CASE("ranking: tied means share the better rank and the first of them is best") {
    // Means 0.8, 0.9, 0.9, 0.7 (two folds each).
    const auto r = search_table({{0.8, 0.8}, {1.0, 0.8}, {0.8, 1.0}, {0.6, 0.8}}, true);
    CHECK(r.candidates[0].rank == 3);
    CHECK(r.candidates[1].rank == 1);
    CHECK(r.candidates[2].rank == 1);
    CHECK(r.candidates[3].rank == 4);
    CHECK(r.best_index == 1);
    CHECK(r.best_score == doctest::Approx(0.9));
    const auto loss = search_table({{0.8, 0.8}, {1.0, 0.8}, {0.8, 1.0}, {0.6, 0.8}}, false);
    CHECK(loss.candidates[3].rank == 1);
    CHECK(loss.candidates[0].rank == 2);
    CHECK(loss.candidates[1].rank == 3);
    CHECK(loss.candidates[2].rank == 3);
    CHECK(loss.best_index == 3);
}

TEST_CASE("cross_validate: per-fold scores, their mean and population standard deviation") {
    const auto d = indexed(12, 3);
    std::vector<std::size_t> fold_sizes;
    const auto r = st::cross_validate(
        [&](const sd::dataset<float>& train, const sd::dataset<float>& test, std::size_t fold) {
            fold_sizes.push_back(test.size());
            CHECK(train.size() + test.size() == 12);
            const double acc[] = {0.5, 0.7, 0.9};
            return st::fold_scores{{"accuracy", acc[fold]}, {"loss", double(fold + 1)}};
        },
        d, {.folds = 3});
    CHECK(fold_sizes == std::vector<std::size_t>{4, 4, 4});
    REQUIRE(r.folds.size() == 3);
    REQUIRE(r.seconds.size() == 3);
    CHECK(r.folds[1].at("accuracy") == 0.7);
    CHECK(r.mean.at("accuracy") == doctest::Approx(0.7).epsilon(1e-15));
    CHECK(r.std.at("accuracy") == doctest::Approx(std::sqrt(0.08 / 3)).epsilon(1e-14));  // np.std, not ddof=1
    CHECK(r.mean.at("loss") == 2.0);
    CHECK(r.std.at("loss") == doctest::Approx(std::sqrt(2.0 / 3)).epsilon(1e-15));

    // Stratified and shuffled by default; the folds are stratified_kfold's.
    const auto splits = st::cv_splits(d, {.folds = 4, .seed = 3});
    CHECK(splits.size() == 4);
    CHECK(splits[2].test == sd::stratified_kfold(sd::class_labels(d), 4, true, 3)[2].test);
    CHECK(st::cv_splits(d, {.folds = 4, .stratify = false, .shuffle = false})[0].test ==
          std::vector<std::size_t>{0, 1, 2});

    // A callable without the fold index works too.
    std::size_t calls = 0;
    const auto plain = st::cross_validate(
        [&](const sd::dataset<float>&, const sd::dataset<float>&) {
            ++calls;
            return st::fold_scores{{"accuracy", 1.0}};
        },
        d, {.folds = 2});
    CHECK(calls == 2);
    CHECK(plain.std.at("accuracy") == 0.0);

    const std::string text = st::to_string(r);
    CHECK(text.find("fold  accuracy    loss  seconds") != std::string::npos);
    CHECK(text.find("mean    0.7000  2.0000") != std::string::npos);
    const std::string json = st::to_json(r);
    CHECK(json.find("\"mean\": {\"accuracy\": 0.7") != std::string::npos);
    CHECK(json.find("\"folds\": [{\"accuracy\": 0.5, \"loss\": 1}, {\"accuracy\": 0.7, \"loss\": 2}") !=
          std::string::npos);
}

TEST_CASE("grid_search: refit, progress, text and JSON reports") {
    const auto d = indexed(30, 3);
    std::ostringstream progress;
    st::param_set refit_with;
    std::size_t refit_samples = 0;
    const auto r = st::grid_search(
        {{"lr", {0.1, 0.01}}, {"batch_size", {16, 32}}}, d,
        [](const st::param_set& p, const sd::dataset<float>&, const sd::dataset<float>&) {
            // Best at lr 0.01, batch 32; "odd \"name\"" checks JSON escaping; NaN is not measured.
            return st::fold_scores{{"accuracy", 0.5 + p["batch_size"] / 100 - p["lr"]},
                                   {"odd \"name\"\\", std::nan("")}};
        },
        {.cv = {.folds = 3, .progress = &progress}},
        [&](const st::param_set& best, const sd::dataset<float>& all) {
            refit_with = best;
            refit_samples = all.size();
        });
    REQUIRE(r.candidates.size() == 4);
    CHECK(r.best_index == 3);
    CHECK(st::to_string(r.best_params) == "batch_size=32, lr=0.01");
    CHECK(r.best_score == doctest::Approx(0.81));
    CHECK(st::to_string(refit_with) == "batch_size=32, lr=0.01");
    CHECK(refit_samples == 30);
    CHECK(r.refit_seconds >= 0);
    CHECK(r.candidates[0].rank == 4);  // batch 16, lr 0.1: 0.56; batch 16, lr 0.01: 0.65
    CHECK(r.candidates[1].rank == 3);
    CHECK(r.candidates[2].rank == 2);
    CHECK(progress.str().find("candidate 4/4: batch_size=32, lr=0.01\n  fold 1/3: accuracy 0.8100") !=
          std::string::npos);
    CHECK(progress.str().find("refit on all 30 samples with batch_size=32, lr=0.01") != std::string::npos);

    const std::string text = st::to_string(r);
    INFO(text);
    CHECK(text.find("rank  batch_size    lr  mean accuracy  std accuracy") != std::string::npos);
    CHECK(text.find("best: batch_size=32, lr=0.01 (mean accuracy 0.8100, higher is better)") !=
          std::string::npos);
    const std::string json = st::to_json(r);
    INFO(json);
    CHECK(json.rfind("{\"scoring\": \"accuracy\", \"greater_is_better\": true, \"candidates\": [{\"params\": "
                     "{\"batch_size\": 16, \"lr\": 0.1}, \"rank\": 4, \"folds\": [",
                     0) == 0);
    CHECK(json.find("\"odd \\\"name\\\"\\\\\": null") != std::string::npos);
    CHECK(
        json.find(
            "\"best_index\": 3, \"best_params\": {\"batch_size\": 32, \"lr\": 0.01}, \"best_score\": 0.81") !=
        std::string::npos);
    CHECK(json.find('\n') == std::string::npos);
}

TEST_CASE("bad grids, callables and splits are usage errors naming the problem") {
    using doctest::Contains;
    const auto d = indexed(15, 3);
    auto constant = [](const st::param_set&, const sd::dataset<float>&, const sd::dataset<float>&) {
        return st::fold_scores{{"loss", 1.0}};
    };
    CHECK_THROWS_WITH_AS(st::parameter_grid({{"lr", {}}}),
                         "parameter_grid: the parameter 'lr' has no values; expected at least one",
                         st::usage_error);
    CHECK_THROWS_WITH_AS(st::parameter_grid({{"lr", {0.1}}, {"lr", {0.2}}}),
                         "parameter_grid: the parameter 'lr' is given twice", st::usage_error);
    CHECK_THROWS_WITH_AS(st::parameter_grid({{"lr", {std::nan("")}}}), Contains("expected finite values"),
                         st::usage_error);
    CHECK_THROWS_WITH_AS(
        st::grid_search({{"lr", {0.1}}}, d, constant),
        "grid_search: scoring is 'accuracy', but fold 0 returned only loss; return it from the "
        "fold callable or score by one of those",
        st::usage_error);
    CHECK_NOTHROW(
        st::grid_search({{"lr", {0.1}}}, d, constant, {.scoring = "loss", .greater_is_better = false}));
    CHECK_THROWS_WITH_AS(
        st::cross_validate(
            [](const sd::dataset<float>&, const sd::dataset<float>&, std::size_t fold) {
                return fold == 0 ? st::fold_scores{{"loss", 1.0}} : st::fold_scores{{"acc", 1.0}};
            },
            d, {.folds = 2}),
        "cross_validate: fold 1 returned acc but fold 0 returned loss; every fold must return the same "
        "scores",
        st::usage_error);
    CHECK_THROWS_WITH_AS(
        st::cross_validate(
            [](const sd::dataset<float>&, const sd::dataset<float>&) { return st::fold_scores{}; }, d),
        Contains("fold 0 returned no scores"), st::usage_error);
    auto one = [](const sd::dataset<float>&, const sd::dataset<float>&) {
        return st::fold_scores{{"loss", 1.0}};
    };
    CHECK_THROWS_WITH_AS(
        st::cross_validate(one, d, {.folds = 6}),
        "cross_validate: stratified_kfold: class 0 has 5 samples, fewer than the 6 folds; every "
        "class needs at least one sample per fold (use fewer folds)",
        st::usage_error);
    CHECK_NOTHROW(st::cross_validate(one, d, {.folds = 6, .stratify = false}));
    auto regression = d;
    regression.y.data()[3] = 0.25f;
    CHECK_THROWS_WITH_AS(
        st::cross_validate(one, regression, {.folds = 2}),
        "cross_validate: stratified folds need class labels (class_labels: sample 3 has the target "
        "0.25; expected a whole class index >= 0 (or one-hot rows)); set cv_options.stratify = "
        "false for other targets",
        st::usage_error);
    CHECK_THROWS_WITH_AS(
        st::cross_validate(one, d, {.splits = {{{0, 1}, {15}}}}),
        "cross_validate: split 0 holds index 15, expected indices below the data set's 15 samples",
        st::usage_error);
    CHECK_THROWS_WITH_AS(st::cross_validate(one, d, {.splits = {{{0, 1}, {}}}}),
                         "cross_validate: split 0 has an empty test part", st::usage_error);
    const auto p = st::parameter_grid({{"lr", {0.1}}, {"batch_size", {32.5}}})[0];
    CHECK_THROWS_WITH_AS(p["dropout"],
                         "param_set: there is no parameter 'dropout'; the grid has batch_size, lr",
                         st::usage_error);
    CHECK_THROWS_WITH_AS(p.whole("batch_size"),
                         "param_set: parameter 'batch_size' is 32.5; expected a whole number >= 0",
                         st::usage_error);
}

TEST_CASE("cross_validate trains a small network on each of 3 folds of Fashion-MNIST") {
    using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<8, 3, st::relu>, st::max_pool<2>,
                                 st::flatten, st::dense<10>>;
    const auto data = sd::take(st::data::fashion_mnist().train, 900);
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    const auto start = std::chrono::steady_clock::now();
    const auto r = st::cross_validate(
        [&](const auto& train, const auto& test, std::size_t fold) {
            CHECK(train.size() == 600);
            CHECK(test.size() == 300);
            net_t net{st::seed{fold + 1}};  // a fresh network per fold
            st::fit(net, train, loss, st::optim::adam{.lr = 2e-3}, st::epochs{4}, st::batch_size{32},
                    st::seed{fold});
            return st::scores_of(st::evaluate(net, test, loss));
        },
        data, {.folds = 3, .seed = 1});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("3 folds in " << seconds << " s:\n" << st::to_string(r));
    REQUIRE(r.folds.size() == 3);
    for (const auto& f : r.folds) {
        CHECK(f.at("accuracy") > 0.6);  // chance is 0.1
        CHECK(std::isfinite(f.at("loss")));
    }
    CHECK(r.std.at("accuracy") < 0.1);
}
