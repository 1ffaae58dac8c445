// Reproduces the articles' failure cases on Fashion-MNIST and lets
// strata::diagnose name them. Each scenario injects one problem, trains,
// prints diagnose's findings, writes an HTML report and checks that the top
// finding is the expected one (healthy: nothing of warning severity):
//   healthy             the reference network, enough data and epochs
//   overfit             no dropout, 2,000 training images, many epochs
//   underfit            a dense layer on the image averaged down to 4 x 4
//   lr_high, lr_low     Adam's learning rate 100 times too high (0.1) / 1000 times too low (1e-6)
//   imbalance           pullover, coat and shirt cut to 2% of their images
//   label_noise         40% of the training labels replaced by another class
//   dead_relu           half the dense layer's ReLU units dead from the start
//   leak                a tenth of the validation (test) images copied into training
//   wrong_architecture  the dense-output segmentation network on garment canvases
//   all                 each of them in turn, short settings, then a table
// --json prints one JSON object as the last line of stdout; the exit status
// is 0 when every diagnosis matched, 1 otherwise.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "scenario.hpp"

using namespace diagnose_example;

namespace {

struct scenario {
    std::string name;
    std::string expected;  // the expected top finding's kind; empty: nothing of warning severity
    std::string injects;
    plan quick, full;
};

std::vector<scenario> scenarios() {
    // clang-format off
    //  plans: training images, validation images, epochs, batch, lr, share of lr left at the end (cosine)
    return {
        {"healthy", "",
         "nothing: the reference network (dropout 0.5), Adam 1e-3 decaying along a cosine",
         {6000, 2000, 10, 64, 1e-3, 0}, {60000, 10000, 10, 64, 1e-3, 0}},
        {"overfit", "overfitting",
         "no dropout, 2,000 training images (quick: 1,000), many epochs",
         {1000, 1000, 20, 32, 1e-3, 1}, {2000, 10000, 30, 64, 1e-3, 1}},
        {"underfit", "underfitting",
         "a dense layer on the image averaged down to 4 x 4 (170 parameters)",
         {60000, 2000, 8, 64, 3e-2, 1}, {60000, 10000, 15, 64, 3e-2, 1}},
        {"lr_high", "learning_rate_too_high",
         "Adam's learning rate 0.1 (100 times the usual 1e-3)",
         {4000, 2000, 4, 64, 0.1, 1}, {20000, 10000, 8, 64, 0.1, 1}},
        {"lr_low", "learning_rate_too_low",
         "Adam's learning rate 1e-6, a thousandth of the usual 1e-3 (quick: 3e-6 on fewer images)",
         {4000, 2000, 5, 64, 3e-6, 1}, {20000, 10000, 10, 64, 1e-6, 1}},
        {"imbalance", "class_imbalance",
         "pullover, coat and shirt cut to 2% of their training images",
         {8000, 2000, 6, 64, 1e-3, 0}, {60000, 10000, 5, 64, 1e-3, 1}},
        {"label_noise", "likely_mislabelled", "",  // says how many labels --noise replaces
         {12000, 2000, 4, 64, 1e-3, 1}, {60000, 10000, 8, 64, 1e-3, 1}},
        {"dead_relu", "dead_units",
         "half the dense layer's ReLU units start with non-positive weights on non-negative inputs: dead "
         "from the first step",
         {6000, 2000, 8, 64, 1e-3, 0}, {20000, 10000, 8, 64, 1e-3, 0}},
        {"leak", "data_leak",
         "a tenth of the validation (test) images copied into the training data",
         {6000, 2000, 3, 64, 1e-3, 1}, {60000, 10000, 5, 64, 1e-3, 1}},
        {"wrong_architecture", "unsuited_architecture",
         "the dense-output segmentation network (flatten, dense 128, dense 64 x 64 x 11) on 64 x 64 canvases",
         {256, 100, 3, 32, 2e-3, 0.05}, {3000, 500, 10, 32, 2e-3, 0.05}},
    };
    // clang-format on
}

struct result {
    const scenario* s = nullptr;
    outcome o;
    plan p;
    double seconds = 0;
    std::string report;
    bool matched = false;

    std::string top() const {
        return o.findings.empty() ? "none" : std::string(to_string(o.findings[0].kind));
    }
    bool serious() const {
        return std::any_of(o.findings.begin(), o.findings.end(),
                           [](const st::finding& f) { return f.level >= st::severity::warning; });
    }
};

std::vector<std::string> fashion_names() {
    const auto& n = st::data::fashion_mnist_set::class_names;
    return {n.begin(), n.end()};
}

// a then b.
st::data::dataset<float> joined(const st::data::dataset<float>& a, const st::data::dataset<float>& b) {
    const auto& s = a.x.shape();
    st::data::dataset<float> out;
    out.x = xt::xtensor<float, 4>::from_shape({a.size() + b.size(), s[1], s[2], s[3]});
    out.y = xt::xtensor<float, 2>::from_shape({a.size() + b.size(), a.target_width()});
    std::copy(a.x.begin(), a.x.end(), out.x.begin());
    std::copy(b.x.begin(), b.x.end(), out.x.begin() + static_cast<std::ptrdiff_t>(a.x.size()));
    std::copy(a.y.begin(), a.y.end(), out.y.begin());
    std::copy(b.y.begin(), b.y.end(), out.y.begin() + static_cast<std::ptrdiff_t>(a.y.size()));
    return out;
}

// Pullover (2), coat (4) and shirt (6), the classes most easily confused,
// keep the first 2% of their images; the others keep all of theirs.
st::data::dataset<float> imbalanced(const st::data::dataset<float>& train) {
    const auto counts = st::data::class_counts(train, 10);
    std::vector<std::size_t> seen(10, 0), picked;
    for (std::size_t i = 0; i < train.size(); ++i) {
        const auto c = static_cast<std::size_t>(train.y(i, 0));
        const bool rare = c == 2 || c == 4 || c == 6;
        const auto kept =
            rare ? static_cast<std::size_t>(std::ceil(0.02 * static_cast<double>(counts[c]))) : counts[c];
        if (seen[c]++ < kept) picked.push_back(i);
    }
    return st::data::subset(train, std::span<const std::size_t>(picked));
}

// A share of the labels (40% by default), chosen at random, replaced by
// another class chosen at random.
std::vector<char> corrupt_labels(st::data::dataset<float>& train, double share, std::uint64_t seed) {
    std::vector<std::size_t> order(train.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    st::rng r(st::mix_keys(seed, 0x1abe1));
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[r.below(i)]);
    std::vector<char> corrupted(train.size(), 0);
    const auto replaced = static_cast<std::size_t>(std::lround(share * static_cast<double>(train.size())));
    for (std::size_t k = 0; k < replaced; ++k) {
        const std::size_t i = order[k];
        const auto truth = static_cast<std::size_t>(train.y(i, 0));
        train.y(i, 0) = static_cast<float>((truth + 1 + r.below(9)) % 10);
        corrupted[i] = 1;
    }
    return corrupted;
}

plan plan_for(const scenario& s, const options& opt, bool quick) {
    plan p = quick ? s.quick : s.full;
    if (opt.limit) p.train_images = opt.limit;
    if (opt.validation) p.validation_images = opt.validation;
    if (opt.epochs_given) p.epochs = opt.epochs;
    if (opt.batch_given) p.batch = opt.batch;
    if (opt.lr > 0) p.lr = opt.lr;
    if (!opt.schedule.empty()) p.final_lr_fraction = opt.schedule == "cosine" ? 0 : 1;
    return p;
}

std::optional<st::audit_report> audit_of(const st::data::dataset<float>& train,
                                         const st::data::dataset<float>& validation, std::ostream& human) {
    const auto start = std::chrono::steady_clock::now();
    auto a = st::audit(train, &validation);
    human << "audit of " << train.size() << " training and " << validation.size()
          << " validation images: " << std::fixed << std::setprecision(1)
          << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n"
          << std::defaultfloat;
    return a;
}

result run(const scenario& s, const options& opt, const st::data::fashion_mnist_set& fm, bool quick,
           const std::string& report_path, std::ostream& human) {
    result res{&s, {}, plan_for(s, opt, quick), 0, report_path, false};
    const plan& p = res.p;
    const context c{opt, human};
    std::string injects = s.injects;
    if (s.name == "label_noise")
        injects = std::to_string(std::lround(100 * opt.noise)) +
                  "% of the training labels replaced by another class, chosen at random";
    human << "\n== " << s.name << (quick ? " (quick)" : "") << ": " << injects << "\n";
    const auto start = std::chrono::steady_clock::now();
    if (s.name == "wrong_architecture") {
        st::data::segmentation_options canvas;
        canvas.height = canvas.width = 64;
        canvas.count = p.train_images;
        canvas.seed = opt.seed;
        const auto train = st::data::make_segmentation(fm.train, 10, canvas);
        canvas.count = p.validation_images;
        canvas.seed = opt.seed + 1;
        const auto validation = st::data::make_segmentation(fm.test, 10, canvas);
        std::vector<std::string> names{"background"};
        for (const auto& n : fashion_names()) names.push_back(n);
        const job j{s.name, p, train.data, validation.data, names};
        res.o = train_dense_segmentation(c, j);
    } else {
        if (p.train_images > fm.train.size() || p.validation_images > fm.test.size())
            throw st::usage_error("the scenario asks for more images than Fashion-MNIST has");
        const auto validation = st::data::take(fm.test, p.validation_images);
        auto train = st::data::take(fm.train, p.train_images);
        std::vector<char> corrupted;
        if (s.name == "imbalance") train = imbalanced(train);
        if (s.name == "label_noise") corrupted = corrupt_labels(train, opt.noise, opt.seed);
        if (s.name == "leak") train = joined(train, st::data::take(validation, validation.size() / 10));
        job j{s.name, p, train, validation, fashion_names()};
        j.class_evidence = s.name == "imbalance";
        j.mislabelled = s.name == "label_noise";
        j.corrupted = std::move(corrupted);
        if (s.name == "leak" || opt.full_evidence) j.audit = audit_of(train, validation, human);
        if (s.name == "overfit")
            res.o = train_without_dropout(c, j);
        else if (s.name == "underfit")
            res.o = train_tiny(c, j);
        else if (s.name == "dead_relu")
            res.o = train_dead_relu(c, j);
        else
            res.o = train_reference(c, j);
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    res.matched = s.expected.empty() ? !res.serious() : res.top() == s.expected;

    human << "\nfindings (" << res.o.findings.size() << "):\n";
    for (const auto& f : res.o.findings) human << st::to_string(f) << "\n";
    if (res.o.findings.empty()) human << "none\n";
    human << "numbers: " << res.o.numbers << "\n";
    const std::string expected = s.expected.empty() ? "nothing of warning severity" : s.expected;
    human << "top finding: " << res.top() << "; expected " << expected << ": "
          << (res.matched ? "OK" : "MISMATCH") << " (" << std::fixed << std::setprecision(1) << res.seconds
          << " s)\n"
          << std::defaultfloat;
    if (!report_path.empty()) {
        auto content = res.o.report;
        content.title += " (" + injects + ")";
        std::vector<st::report::finding_text> texts;
        for (const auto& f : res.o.findings) texts.push_back(st::report::text_of(f));
        content.findings = std::move(texts);
        st::report::html(report_path, content);
        human << "report: " << report_path << "\n";
    }
    return res;
}

std::string json_of(const result& r, const options& opt, bool quick) {
    using example::json_number;
    using example::json_string;
    std::ostringstream j;
    j << "{\"scenario\": " << json_string(r.s->name)
      << ", \"expected\": " << json_string(r.s->expected.empty() ? "none" : r.s->expected)
      << ", \"top_finding\": " << json_string(r.top()) << ", \"top_severity\": "
      << (r.o.findings.empty() ? std::string("null")
                               : json_string(std::string(to_string(r.o.findings[0].level))))
      << ", \"ok\": " << (r.matched ? "true" : "false") << ", \"quick\": " << (quick ? "true" : "false")
      << ", \"seed\": " << opt.seed << ", \"train_images\": " << r.p.train_images
      << ", \"validation_images\": " << r.p.validation_images << ", \"epochs\": " << r.o.history.epochs.size()
      << ", \"lr\": " << json_number(r.p.lr) << ", \"parameters\": " << r.o.parameters
      << ", \"validation_accuracy\": " << json_number(r.o.validation.accuracy)
      << ", \"validation_loss\": " << json_number(r.o.validation.loss)
      << ", \"seconds\": " << json_number(r.seconds) << ", \"numbers\": " << json_string(r.o.numbers)
      << ", \"report\": " << (r.report.empty() ? std::string("null") : json_string(r.report))
      << ", \"findings\": [";
    for (std::size_t k = 0; k < r.o.findings.size(); ++k) {
        const auto& f = r.o.findings[k];
        j << (k ? ", " : "") << "{\"kind\": " << json_string(std::string(to_string(f.kind)))
          << ", \"severity\": " << json_string(std::string(to_string(f.level)))
          << ", \"score\": " << json_number(f.score) << ", \"summary\": " << json_string(f.summary) << "}";
    }
    j << "]}";
    return j.str();
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    CLI::App app{
        "Injects one training problem into a Fashion-MNIST run (or each in turn), lets strata::diagnose "
        "name it, and writes an HTML report of the run.",
        "diagnose"};
    std::vector<std::string> names;
    for (const auto& s : scenarios()) names.push_back(s.name);
    names.push_back("all");
    app.add_option("--scenario", opt.scenario,
                   "healthy, overfit, underfit, lr_high, lr_low, imbalance, label_noise, dead_relu, leak, "
                   "wrong_architecture, or all (each in turn with the short settings, then a table)")
        ->check(CLI::IsMember(names))
        ->capture_default_str();
    app.add_flag("--quick", opt.quick, "the short version of the scenario (a few seconds each)");
    app.add_flag("--full", opt.full, "with --scenario all: the default settings instead of the short ones");
    app.add_option("--report", opt.report,
                   "the HTML report (default diagnose_<scenario>.html); with --scenario all, the folder the "
                   "reports go to (default: the current one)");
    app.add_flag("--no-report", opt.no_report, "write no HTML report");
    app.add_option("--lr", opt.lr, "Adam's learning rate (default: the scenario's)")
        ->check(example::real_above(0, true));
    app.add_option("--lr-schedule", opt.schedule,
                   "constant, or cosine (the rate falls to 0 along a cosine over the run); default: the "
                   "scenario's")
        ->check(CLI::IsMember({"constant", "cosine"}));
    app.add_option("--noise", opt.noise, "label_noise: the share of training labels replaced")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    app.add_option("--validation", opt.validation,
                   "validation images, the first of the test set (default: the scenario's)")
        ->check(example::positive_whole);
    app.add_flag("--full-evidence", opt.full_evidence,
                 "give diagnose everything in every scenario: the validation confusion matrix and training "
                 "class counts (by default only in imbalance), the audit (leak) and the likely mislabelled "
                 "samples (label_noise)");
    example::add_training_flags(app, opt);
    example::parse_or_exit(app, argc, argv);
    opt.epochs_given = app.get_option("--epochs")->count() > 0;
    opt.batch_given = app.get_option("--batch")->count() > 0;
    if (!opt.resume.empty() || !opt.checkpoint.empty() || opt.early_stopping) {
        std::cerr << "diagnose: --checkpoint, --resume and --early-stopping do not apply to the scenarios\n";
        return 2;
    }
    std::ostream& human = opt.json ? std::cerr : std::cout;
    try {
        const auto fm = st::data::fashion_mnist(opt.data_dir);
        const auto all = scenarios();
        if (opt.scenario != "all") {
            const auto& s = *std::find_if(all.begin(), all.end(),
                                          [&](const scenario& x) { return x.name == opt.scenario; });
            const std::string report = opt.no_report        ? ""
                                       : opt.report.empty() ? "diagnose_" + s.name + ".html"
                                                            : opt.report;
            const auto r = run(s, opt, fm, opt.quick, report, human);
            if (opt.json) std::cout << json_of(r, opt, opt.quick) << std::endl;
            return r.matched ? 0 : 1;
        }
        const bool quick = !opt.full;
        std::vector<result> results;
        for (const auto& s : all) {
            const std::filesystem::path dir = opt.report.empty() ? "." : opt.report;
            if (!opt.no_report) std::filesystem::create_directories(dir);
            results.push_back(run(s, opt, fm, quick,
                                  opt.no_report ? "" : (dir / ("diagnose_" + s.name + ".html")).string(),
                                  human));
        }
        bool every_ok = true;
        double seconds = 0;
        human << "\n"
              << std::left << std::setw(20) << "scenario" << std::setw(32) << "top finding" << std::setw(32)
              << "expected" << std::setw(9) << "result"
              << "seconds\n";
        for (const auto& r : results) {
            every_ok &= r.matched;
            seconds += r.seconds;
            human << std::setw(20) << r.s->name << std::setw(32)
                  << (r.top() + (r.o.findings.empty()
                                     ? ""
                                     : " (" + std::string(to_string(r.o.findings[0].level)) + ")"))
                  << std::setw(32) << (r.s->expected.empty() ? "no warning" : r.s->expected) << std::setw(9)
                  << (r.matched ? "OK" : "MISMATCH") << std::fixed << std::setprecision(1) << r.seconds
                  << std::defaultfloat << "\n";
        }
        human << std::right << "total " << std::fixed << std::setprecision(1) << seconds << " s\n"
              << std::defaultfloat;
        if (opt.json) {
            std::cout << "{\"scenario\": \"all\", \"quick\": " << (quick ? "true" : "false")
                      << ", \"ok\": " << (every_ok ? "true" : "false")
                      << ", \"seconds\": " << example::json_number(seconds) << ", \"results\": [";
            for (std::size_t k = 0; k < results.size(); ++k)
                std::cout << (k ? ", " : "") << json_of(results[k], opt, quick);
            std::cout << "]}" << std::endl;
        }
        return every_ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "diagnose: " << e.what() << "\n";
        return 1;
    }
}
