// strata's metrics against sklearn on random predictions (references written
// by metrics_reference.py at test time), and metric policies through fit and
// evaluate.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <strata/strata.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnpy.hpp>

namespace st = strata;
namespace fs = std::filesystem;

namespace {

fs::path reference_dir() {
    const char* root = std::getenv("STRATA_METRICS_DIR");
    REQUIRE_MESSAGE(root != nullptr, "STRATA_METRICS_DIR is not set: ctest runs metrics_reference.py first");
    return root;
}
xt::xarray<double> reference(const std::string& key) {
    const fs::path file = reference_dir() / (key + ".npy");
    REQUIRE_MESSAGE(fs::exists(file), "missing reference " << file);
    return xt::load_npy<double>(file.string());
}
std::string reference_text(const std::string& name) {
    std::ifstream in(reference_dir() / name);
    REQUIRE_MESSAGE(in, "missing reference " << name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Holds the arrays a predictions view points into.
struct pass {
    xt::xarray<double> outputs, targets;
    st::metrics::predictions<double> view(double threshold = 0.5) const {
        const std::size_t n = targets.shape()[0];
        return {.outputs = std::span<const double>(outputs.data(), outputs.size()),
                .targets = std::span<const double>(targets.data(), targets.size()),
                .count = n,
                .width = outputs.size() / n,
                .target_width = targets.size() / n,
                .threshold = threshold};
    }
};

void check_near(double got, double expected, const char* what) {
    INFO(what << ": strata " << got << ", sklearn " << expected);
    CHECK(std::abs(got - expected) <= 1e-12);
}

}  // namespace

TEST_CASE("confusion matrix, precision, recall, F1 and their averages equal sklearn's") {
    const pass multi{reference("multi_scores"), reference("multi_labels")};
    const auto m = st::metrics::confusion_matrix::of(multi.view());
    const auto confusion = reference("multi_confusion");
    REQUIRE(m.classes() == 7);
    for (std::size_t t = 0; t < 7; ++t)
        for (std::size_t p = 0; p < 7; ++p) CHECK(double(m(t, p)) == confusion(t, p));
    const auto precision = reference("multi_precision"), recall = reference("multi_recall"),
               f1 = reference("multi_f1"), support = reference("multi_support");
    for (std::size_t c = 0; c < 7; ++c) {
        check_near(m.precision(c), precision(c), "precision");
        check_near(m.recall(c), recall(c), "recall");
        check_near(m.f1(c), f1(c), "f1");
        CHECK(double(m.support(c)) == support(c));
    }
    CHECK(m.precision(6) == 0);  // never predicted: sklearn's zero_division=0
    const auto macro = reference("multi_macro"), weighted = reference("multi_weighted");
    check_near(m.macro().precision, macro(0), "macro precision");
    check_near(m.macro().recall, macro(1), "macro recall");
    check_near(m.macro().f1, macro(2), "macro f1");
    check_near(m.weighted().precision, weighted(0), "weighted precision");
    check_near(m.weighted().recall, weighted(1), "weighted recall");
    check_near(m.weighted().f1, weighted(2), "weighted f1");
    check_near(m.accuracy(), reference("multi_accuracy")(0), "accuracy");
}

TEST_CASE("top-k accuracy, ROC AUC with tied scores and regression errors equal sklearn's") {
    const pass multi{reference("multi_scores"), reference("multi_labels")};
    const auto top_k = reference("multi_top_k");
    const std::size_t ks[] = {1, 2, 3, 5};
    for (std::size_t i = 0; i < 4; ++i)
        check_near(st::metrics::top_k_accuracy(multi.view(), ks[i]), top_k(i), "top-k");

    const pass binary{reference("binary_scores"), reference("binary_labels")};
    check_near(st::metrics::roc_auc(binary.view()), reference("binary_auc")(0), "roc auc");
    const auto m = st::metrics::confusion_matrix::of(binary.view(0.5));
    const auto confusion = reference("binary_confusion");
    for (std::size_t t = 0; t < 2; ++t)
        for (std::size_t p = 0; p < 2; ++p) CHECK(double(m(t, p)) == confusion(t, p));

    const pass regression{reference("regression_outputs"), reference("regression_targets")};
    const auto errors = reference("regression_errors");
    check_near(st::metrics::mean_absolute_error(regression.view()), errors(0), "mae");
    check_near(st::metrics::mean_squared_error(regression.view()), errors(1), "mse");
}

TEST_CASE("classification_report prints sklearn's layout") {
    const pass multi{reference("multi_scores"), reference("multi_labels")};
    const auto m = st::metrics::confusion_matrix::of(multi.view());
    CHECK(st::metrics::classification_report(m) == reference_text("multi_report_2.txt"));
    const std::vector<std::string> names{"T-shirt", "Trouser", "Pullover",           "Dress",
                                         "Coat",    "Sandal",  "a longer class name"};
    CHECK(st::metrics::classification_report(m, names, 4) == reference_text("multi_report_named_4.txt"));
    CHECK_THROWS_WITH_AS(st::metrics::classification_report(m, {"a", "b"}),
                         "classification_report: 2 names for 7 classes", st::usage_error);
}

TEST_CASE("metrics reject what they cannot measure") {
    const pass binary{reference("binary_scores"), reference("binary_labels")};
    CHECK_THROWS_WITH_AS(st::metrics::top_k_accuracy(binary.view(), 1),
                         doctest::Contains("one output per class"), st::usage_error);
    pass one_class = binary;
    one_class.targets.fill(1);
    CHECK_THROWS_WITH_AS(st::metrics::roc_auc(one_class.view()),
                         doctest::Contains("needs samples of both classes"), st::usage_error);
    const pass multi{reference("multi_scores"), reference("multi_labels")};
    CHECK_THROWS_WITH_AS(st::metrics::roc_auc(multi.view()), doctest::Contains("needs one output"),
                         st::usage_error);
    pass bad_label = multi;
    bad_label.targets(3) = 9;  // 7 outputs: no class 9
    CHECK_THROWS_WITH_AS(st::metrics::top_k_accuracy(bad_label.view(), 2),
                         doctest::Contains("sample 3 has no class"), st::usage_error);
    bad_label.targets(3) = -1;
    CHECK_THROWS_AS(st::metrics::confusion_matrix::of(bad_label.view()), st::usage_error);
}

TEST_CASE("fit reports metric policies per epoch for training and validation; evaluate returns them") {
    const auto data = st::data::fashion_mnist();
    const auto train = st::data::take(data.train, 2000), test = st::data::take(data.test, 1000);
    using net_t = st::sequential<st::input<28, 28, 1>, st::flatten, st::dense<32, st::relu>, st::dense<10>>;
    net_t net{st::seed{2}};
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    std::ostringstream log;
    const auto h = st::fit(net, train, loss, st::optim::adam{}, st::epochs{2}, st::validation{test},
                           st::metrics::top_k{3}, st::metrics::f1{}, st::progress{log});
    REQUIRE(h.epochs.size() == 2);
    const auto& last = h.epochs.back();
    CHECK(last.metrics.size() == 4);
    CHECK(last.value("top_3_accuracy") >= last.accuracy);
    CHECK(last.value("val_top_3_accuracy") >= last.val_accuracy);
    CHECK(last.value("val_f1_macro") > 0.5);
    CHECK(log.str().find("val_f1_macro: ") != std::string::npos);

    // evaluate's numbers for the same network and data.
    const auto e = st::evaluate(net, test, loss, st::metrics::top_k{3}, st::metrics::f1{});
    CHECK(e.metrics.size() == 2);
    CHECK(e.metrics[0].second == last.value("val_top_3_accuracy"));
    CHECK(e.metrics[1].second == last.value("val_f1_macro"));
    CHECK(e.confusion.total() == 1000);
    CHECK(e.confusion.accuracy() == doctest::Approx(e.accuracy).epsilon(1e-12));
    CHECK(e.confusion.macro().f1 == e.metrics[1].second);
    // The confusion matrix counts argmax predictions against the labels.
    const auto logits = st::predict(net, test.x);
    std::size_t agree = 0;
    for (std::size_t i = 0; i < 1000; ++i) {
        std::size_t best = 0;
        for (std::size_t c = 1; c < 10; ++c)
            if (logits(i, c) > logits(i, best)) best = c;
        agree += best == static_cast<std::size_t>(test.y(i, 0));
    }
    std::size_t diagonal = 0;
    for (std::size_t c = 0; c < 10; ++c) diagonal += e.confusion(c, c);
    CHECK(diagonal == agree);
}

TEST_CASE("real predictions: strata's metrics of a Fashion-MNIST classifier, for metrics_real_check.py") {
    // metrics_real_check.py recomputes them with sklearn from the saved logits.
    const auto data = st::data::fashion_mnist();
    const auto train = st::data::take(data.train, 3000), test = st::data::take(data.test, 2000);
    using net_t = st::sequential<st::input<28, 28, 1>, st::conv2d<8, 3, st::relu>, st::max_pool<2>,
                                 st::flatten, st::dense<10>>;
    net_t net{st::seed{5}};
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    st::fit(net, train, loss, st::optim::adam{}, st::epochs{1});
    const auto e = st::evaluate(net, test, loss, st::metrics::top_k{3});
    const auto logits = st::predict(net, test.x);
    const fs::path dir = reference_dir() / "real";
    fs::create_directories(dir);
    xt::dump_npy((dir / "logits.npy").string(), xt::xarray<double>(xt::cast<double>(logits)));
    xt::dump_npy((dir / "labels.npy").string(), xt::xarray<double>(xt::cast<double>(test.y)));
    const auto& m = e.confusion;
    xt::xarray<double> per_class = xt::zeros<double>({std::size_t{3}, std::size_t{10}});
    for (std::size_t c = 0; c < 10; ++c) {
        per_class(0, c) = m.precision(c);
        per_class(1, c) = m.recall(c);
        per_class(2, c) = m.f1(c);
    }
    xt::dump_npy((dir / "per_class.npy").string(), per_class);
    const xt::xarray<double> summary{m.accuracy(),    m.macro().precision,    m.macro().recall,
                                     m.macro().f1,    m.weighted().precision, m.weighted().recall,
                                     m.weighted().f1, e.metrics[0].second};
    xt::dump_npy((dir / "summary.npy").string(), summary);
    std::ofstream(dir / "report.txt") << st::metrics::classification_report(m);
    CHECK(m.accuracy() > 0.6);
}
