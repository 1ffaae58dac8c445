// The trainer and its callbacks: early stopping with Keras' semantics,
// checkpoints, CSV logs, lambdas, learning-rate schedulers, and trainer::step
// used directly.
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <strata/strata.hpp>

namespace st = strata;
namespace fs = std::filesystem;

namespace {

using linear_net = st::sequential<st::input<2>, st::dense<1>>;

// Regression data y = slope (x0 + x1).
st::data::dataset<float> line(std::size_t n, float slope, std::uint64_t key) {
    st::data::dataset<float> d;
    d.x = xt::xtensor<float, 4>::from_shape({n, 1, 1, 2});
    d.y = xt::xtensor<float, 2>::from_shape({n, 1});
    st::rng r(key);
    for (std::size_t i = 0; i < n; ++i) {
        const float a = float(r.uniform(-1, 1)), b = float(r.uniform(-1, 1));
        d.x.data()[2 * i] = a;
        d.x.data()[2 * i + 1] = b;
        d.y.data()[i] = slope * (a + b);
    }
    return d;
}

// Trained towards slope 2 from zero weights, validated against slope 1: the
// validation loss falls while the weights approach 1, then rises, so it has
// one minimum in the middle of the run.
struct overshoot {
    st::data::dataset<float> train = line(64, 2, 1), val = line(64, 1, 2);
    linear_net fresh() const {
        linear_net net{st::seed{1}};
        std::fill(net.parameters().begin(), net.parameters().end(), 0.0f);
        return net;
    }
};

struct temp_dir {
    fs::path path;
    explicit temp_dir(const std::string& name) : path(fs::temp_directory_path() / ("strata_" + name)) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
};

bool same_bits(std::span<const float> a, std::span<const float> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

// Drives a callback's epoch hooks with scripted monitor values, as fit would.
struct scripted_state {
    using scalar_type = float;
    std::size_t current = 0, best = 0;
    st::epoch_record record;
    std::string reason;
    std::vector<float> weights{0.0f}, statistics{0.0f};

    std::size_t epoch() const { return current; }
    const st::epoch_record& logs() const { return record; }
    bool has_validation() const { return true; }
    bool measures_accuracy() const { return true; }
    void stop(std::string why) {
        if (reason.empty()) reason = std::move(why);
    }
    void note_best_epoch(std::size_t e) { best = e; }
    std::span<const float> parameters() const { return weights; }
    std::span<const float> running_state() const { return statistics; }
    void set_weights(std::span<const float> p, std::span<const float> s) {
        weights.assign(p.begin(), p.end());
        statistics.assign(s.begin(), s.end());
    }
};

struct scripted_run {
    std::size_t stopped_at = 0, best_epoch = 0;
    float weights_after = 0;
};

// Epoch e's weights are e, so restored weights name their epoch.
scripted_run script(st::early_stopping es, const std::vector<double>& values) {
    scripted_state s;
    es.on_train_begin(s);
    scripted_run run;
    for (std::size_t e = 1; e <= values.size(); ++e) {
        s.current = e;
        s.record.epoch = e;
        s.record.val_loss = s.record.val_accuracy = values[e - 1];
        s.weights = {float(e)};
        s.statistics = {float(e)};
        es.on_epoch_end(s);
        if (!s.reason.empty()) {
            run.stopped_at = e;
            break;
        }
    }
    es.on_train_end(s);
    run.best_epoch = s.best;
    run.weights_after = s.weights[0];
    return run;
}

}  // namespace

TEST_CASE(
    "early stopping stops patience epochs after the validation minimum and restores that epoch's weights") {
    const overshoot problem;
    constexpr std::size_t epochs = 40, patience = 3;
    const st::optim::sgd opt{.lr = 0.02};

    // The full run locates the minimum.
    auto full = problem.fresh();
    const auto reference = st::fit(full, problem.train, st::loss::mean_squared_error{}, opt,
                                   st::epochs{epochs}, st::batch_size{8}, st::validation{problem.val});
    REQUIRE(reference.epochs.size() == epochs);
    std::size_t minimum = 1;
    for (std::size_t e = 1; e <= epochs; ++e)
        if (reference.epochs[e - 1].val_loss < reference.epochs[minimum - 1].val_loss) minimum = e;
    INFO("validation minimum at epoch " << minimum);
    REQUIRE(minimum > 2);
    REQUIRE(minimum + patience < epochs);

    // The same run with early stopping and a checkpoint per epoch.
    const temp_dir dir("early_stopping");
    auto net = problem.fresh();
    const auto h = st::fit(net, problem.train, st::loss::mean_squared_error{}, opt, st::epochs{epochs},
                           st::batch_size{8}, st::validation{problem.val},
                           st::model_checkpoint{.path = (dir.path / "epoch{epoch:02d}").string()},
                           st::early_stopping{.patience = patience, .restore_best_weights = true});
    CHECK(h.cause == st::stop_cause::callback);
    CHECK(h.stopped_epoch == minimum + patience);
    CHECK(h.epochs.size() == minimum + patience);
    CHECK(h.best_epoch == minimum);
    CHECK(h.stop_reason.find("early stopping after epoch " + std::to_string(minimum + patience) +
                             ": val_loss did not improve for 3 epochs") != std::string::npos);
    // Up to the stop, the run is the reference run.
    for (std::size_t e = 0; e < h.epochs.size(); ++e)
        CHECK(h.epochs[e].val_loss == reference.epochs[e].val_loss);

    char name[16];
    std::snprintf(name, sizeof name, "epoch%02zu", minimum);
    auto best = problem.fresh();
    st::load_weights(best, dir.path / name);
    CHECK(same_bits(net.parameters(), best.parameters()));
    CHECK(fs::exists(dir.path / "epoch01"));
    std::snprintf(name, sizeof name, "epoch%02zu", minimum + patience + 1);
    CHECK(!fs::exists(dir.path / name));  // nothing ran after the stop
}

TEST_CASE("early_stopping follows Keras on scripted values") {
    // Patience counts epochs without improvement; the stop comes when it is reached.
    auto r = script({.patience = 2}, {1.0, 0.9, 0.95, 0.96, 0.97, 0.5});
    CHECK(r.stopped_at == 4);
    CHECK(r.best_epoch == 2);
    CHECK(r.weights_after == 4);  // without restore_best_weights the last weights stay
    // Patience 0 stops at the first epoch without improvement, never at the first epoch.
    CHECK(script({.patience = 0}, {1.0, 2.0}).stopped_at == 2);
    CHECK(script({.patience = 0}, {std::nan(""), 2.0, 3.0}).stopped_at == 3);
    // min_delta: 0.95 is not better than 1.0 by more than 0.1.
    CHECK(script({.min_delta = 0.1, .patience = 1}, {1.0, 0.95, 0.92, 0.85}).stopped_at == 2);
    CHECK(script({.min_delta = -0.1, .patience = 1}, {1.0, 0.95, 0.92, 0.85}).stopped_at ==
          2);  // |min_delta|
    // A baseline: improvements that miss it do not reset the count.
    CHECK(script({.patience = 2}, {0.8, 0.9, 0.9}).stopped_at == 3);
    CHECK(script({.patience = 2, .baseline = 0.5}, {0.8, 0.9, 0.9}).stopped_at == 2);
    CHECK(script({.patience = 2, .baseline = 0.5}, {0.8, 0.7, 0.6, 0.55}).stopped_at == 0);
    // Epochs up to start_from_epoch are ignored.
    r = script({.patience = 1, .start_from_epoch = 2}, {0.1, 0.2, 0.5, 0.6});
    CHECK(r.stopped_at == 4);
    CHECK(r.best_epoch == 3);
    // An accuracy improves upwards.
    r = script({.monitor = st::metric::val_accuracy, .patience = 1}, {0.5, 0.6, 0.55});
    CHECK(r.stopped_at == 3);
    CHECK(r.best_epoch == 2);
    r = script({.patience = 1, .mode = st::monitor_mode::max}, {0.5, 0.6, 0.55});
    CHECK(r.stopped_at == 3);
    // restore_best_weights restores when training ends without a stop too (Keras 3).
    r = script({.patience = 5, .restore_best_weights = true}, {3.0, 1.0, 2.0});
    CHECK(r.stopped_at == 0);
    CHECK(r.weights_after == 2);
    // ... and after a stop.
    r = script({.patience = 1, .restore_best_weights = true}, {3.0, 1.0, 2.0, 0.5});
    CHECK(r.stopped_at == 3);
    CHECK(r.weights_after == 2);
}

TEST_CASE("a monitor that is never measured is an error before training") {
    const overshoot problem;
    auto net = problem.fresh();
    CHECK_THROWS_WITH_AS(
        st::fit(net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{}, st::early_stopping{}),
        "early_stopping monitors val_loss, which needs validation{data} in fit", st::usage_error);
    CHECK_THROWS_WITH_AS(
        st::fit(net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{},
                st::validation{problem.val}, st::early_stopping{.monitor = st::metric::val_accuracy}),
        "early_stopping monitors val_accuracy, which this loss does not measure", st::usage_error);
    CHECK_THROWS_WITH_AS(
        st::fit(net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{},
                st::validation{problem.val}, st::model_checkpoint{.path = "w{epoch}-{val_acc}"}),
        doctest::Contains("unknown field {val_acc}"), st::usage_error);
    CHECK_THROWS_WITH_AS(st::fit(net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{},
                                 st::model_checkpoint{.path = "w{epoch:x}"}),
                         doctest::Contains("unsupported format 'x' for {epoch}"), st::usage_error);
}

TEST_CASE("model_checkpoint fills the path and saves only improvements with save_best_only") {
    st::epoch_record r;
    r.epoch = 7;
    r.val_loss = 0.123456;
    r.loss = 2.5;
    CHECK(st::detail::format_checkpoint_path("m{epoch:03d}-{val_loss:.2f}", r) == "m007-0.12");
    CHECK(st::detail::format_checkpoint_path("m{epoch}-{loss}", r) == "m7-2.5");
    CHECK(st::detail::format_checkpoint_path("m{epoch:4d}", r) == "m   7");

    const overshoot problem;
    const temp_dir dir("checkpoint_best");
    auto net = problem.fresh();
    const auto h =
        st::fit(net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{.lr = 0.02},
                st::epochs{30}, st::batch_size{8}, st::validation{problem.val},
                st::model_checkpoint{.path = (dir.path / "e{epoch}").string(), .save_best_only = true});
    std::size_t expected = 0;
    double best = INFINITY;
    for (const auto& e : h.epochs)
        if (e.val_loss < best) best = e.val_loss, ++expected;
    std::size_t written = 0;
    for (const auto& entry : fs::directory_iterator(dir.path)) written += entry.is_directory();
    CHECK(written == expected);
    CHECK(expected > 2);
    CHECK(expected < h.epochs.size());
}

TEST_CASE("csv_logger writes Keras' columns, one flushed row per epoch, and appends") {
    const overshoot problem;
    const temp_dir dir("csv");
    const auto file = (dir.path / "log.csv").string();
    auto net = problem.fresh();
    const auto h = st::fit(net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{.lr = 0.02},
                           st::epochs{3}, st::validation{problem.val}, st::csv_logger{.path = file});
    auto read = [&] {
        std::ifstream in(file);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    };
    std::string expected = "epoch,learning_rate,loss,val_loss\n";
    for (const auto& e : h.epochs)
        expected += std::to_string(e.epoch - 1) + "," + st::detail::shortest(e.learning_rate) + "," +
                    st::detail::shortest(e.loss) + "," + st::detail::shortest(e.val_loss) + "\n";
    CHECK(read() == expected);
    // Each value reads back to the same double.
    CHECK(std::stod(st::detail::shortest(h.epochs[1].loss)) == h.epochs[1].loss);

    st::fit(net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{.lr = 0.02}, st::epochs{2},
            st::validation{problem.val}, st::csv_logger{.path = file, .append = true});
    const std::string appended = read();
    CHECK(appended.substr(0, expected.size()) == expected);
    CHECK(std::count(appended.begin(), appended.end(), '\n') == 6);  // one header, five rows
    CHECK(appended.find("epoch", 1) == std::string::npos);

    CHECK_THROWS_WITH_AS(st::fit(net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{},
                                 st::csv_logger{.path = (dir.path / "missing" / "log.csv").string()}),
                         doctest::Contains("csv_logger: cannot open"), st::data_error);
}

TEST_CASE("callbacks compose: every lambda runs in order, and a stop mid-epoch keeps the partial epoch") {
    const overshoot problem;
    auto net = problem.fresh();
    std::vector<std::string> calls;
    const auto h =
        st::fit(net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{.lr = 0.02}, st::epochs{5},
                st::batch_size{8}, st::on_epoch_end{[&](const st::epoch_record& r) {
                    calls.push_back("first " + std::to_string(r.epoch));
                    return true;
                }},
                st::on_epoch_end{[&](const st::epoch_record& r) {
                    calls.push_back("second " + std::to_string(r.epoch));
                    return true;
                }},
                st::lambda_callback{
                    .on_train_begin_fn =
                        [&](st::training_view& s) { calls.push_back("begin " + std::to_string(s.epochs())); },
                    .on_batch_end_fn =
                        [&](st::training_view& s) {
                            if (s.epoch() == 2 && s.batch() == 3) s.stop("enough");
                        },
                    .on_train_end_fn =
                        [&](st::training_view& s) { calls.push_back("end " + std::to_string(s.step())); }});
    CHECK(calls ==
          std::vector<std::string>{"begin 5", "first 1", "second 1", "first 2", "second 2", "end 11"});
    REQUIRE(h.epochs.size() == 2);
    CHECK(h.stop_reason == "enough");
    CHECK(h.stopped_epoch == 2);
    CHECK(h.epochs[1].images_per_second > 0);
}

TEST_CASE("learning_rate_scheduler sets each epoch's rate; a schedule starts from it") {
    const overshoot problem;
    auto net = problem.fresh();
    const auto h = st::fit(
        net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{.lr = 0.1}, st::epochs{4},
        st::batch_size{64},
        st::learning_rate_scheduler{[](std::size_t epoch, double lr) { return epoch < 2 ? lr : lr * 0.5; }});
    REQUIRE(h.epochs.size() == 4);
    CHECK(h.epochs[0].learning_rate == doctest::Approx(0.1));
    CHECK(h.epochs[1].learning_rate == doctest::Approx(0.1));
    CHECK(h.epochs[2].learning_rate == doctest::Approx(0.05));
    CHECK(h.epochs[3].learning_rate == doctest::Approx(0.025));

    auto bad = problem.fresh();
    CHECK_THROWS_WITH_AS(st::fit(bad, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{},
                                 st::learning_rate_scheduler{[](std::size_t, double) { return -1.0; }}),
                         doctest::Contains("learning_rate_scheduler: the schedule gave -1 for epoch 0"),
                         st::usage_error);
}

TEST_CASE("trainer::step in a loop of one's own is what fit runs") {
    const overshoot problem;
    auto by_fit = problem.fresh();
    st::fit(by_fit, problem.train, st::loss::mean_squared_error{}, st::optim::adam{}, st::epochs{3},
            st::batch_size{16}, st::seed{5});

    auto by_hand = problem.fresh();
    st::trainer t(by_hand, st::loss::mean_squared_error{}, st::optim::adam{}, {.seed_value = 5});
    st::data::shuffle_sampler sampler(problem.train.size(), 5);
    std::vector<float> x(16 * 2), y(16);
    for (std::size_t epoch = 1; epoch <= 3; ++epoch) {
        const auto order = sampler.next_epoch();
        for (std::size_t b = 0; b < 4; ++b) {
            problem.train.gather(order.subspan(b * 16, 16), x.data(), y.data());
            const auto r = t.step(x.data(), y.data(), 16, st::mix_keys(5, epoch, b));
            REQUIRE(r.ok());
        }
    }
    CHECK(t.steps_done() == 12);
    CHECK(same_bits(by_fit.parameters(), by_hand.parameters()));
}

TEST_CASE("trainer::step keeps the last good weights when a step fails") {
    const overshoot problem;
    auto net = problem.fresh();
    st::trainer t(net, st::loss::mean_squared_error{}, st::optim::sgd{.lr = 0.1});
    std::vector<float> x{1, 1}, y{std::nanf("")};
    const std::vector<float> before(net.parameters().begin(), net.parameters().end());
    const auto r = t.step(x.data(), y.data(), 1, 1);
    CHECK(!r.ok());
    CHECK(r.failure.find("the loss is") != std::string::npos);
    CHECK(same_bits(net.parameters(), before));
    t.set_learning_rate(-1);
    y[0] = 1;
    CHECK(t.step(x.data(), y.data(), 1, 1).failure == "the learning rate is -1 at step 0");
}

TEST_CASE("a step that fails after good ones restores the weights and moving statistics before it") {
    // Enough weights that both threads share the update and its snapshot.
    using wide_net = st::sequential<st::input<64>, st::dense<300>, st::batch_norm, st::relu, st::dense<1>>;
    static_assert(wide_net::param_count > st::executor<wide_net>::split_from);
    wide_net net{st::seed{3}};
    st::trainer t(net, st::loss::mean_squared_error{}, st::optim::adam{.lr = 0.01},
                  {.thread_count = st::threads{2}});
    REQUIRE(t.exec().thread_count() == 2);
    std::vector<float> x(16 * 64), y(16);
    st::rng r(2);
    for (auto& v : x) v = static_cast<float>(r.uniform(-1, 1));
    for (auto& v : y) v = static_cast<float>(r.uniform(-1, 1));
    for (std::uint64_t k = 1; k <= 3; ++k) REQUIRE(t.step(x.data(), y.data(), 16, k).ok());
    const std::vector<float> weights(net.parameters().begin(), net.parameters().end());
    const std::vector<float> statistics(net.state().begin(), net.state().end());
    auto unchanged = [&] {
        return same_bits(net.parameters(), weights) && same_bits(net.state(), statistics);
    };

    SUBCASE("the update overflows a weight") {
        t.set_learning_rate(1e39);  // finite, but infinite in float
        const auto failed = t.step(x.data(), y.data(), 16, 4);
        CHECK(failed.failure == "the update made a weight NaN or infinite");
        CHECK(unchanged());
    }
    SUBCASE("a gradient is NaN") {
        y[5] = std::nanf("");
        const auto failed = t.step(x.data(), y.data(), 16, 4);
        CHECK(failed.failure.find("the loss is") != std::string::npos);
        CHECK(unchanged());
        y[5] = 0;
    }
    // Training goes on from there.
    t.set_learning_rate(0.01);
    REQUIRE(t.step(x.data(), y.data(), 16, 5).ok());
    CHECK(!same_bits(net.parameters(), weights));
}

TEST_CASE("SIGINT during fit ends the epoch, runs the end hooks and reports the interruption") {
    // fit only catches SIGINT where nobody else does; doctest has a handler of its own.
    struct sigaction doctest_handler {};
    ::sigaction(SIGINT, nullptr, &doctest_handler);
    ::signal(SIGINT, SIG_DFL);
    const overshoot problem;
    auto net = problem.fresh();
    bool ended = false;
    const auto h = st::fit(net, problem.train, st::loss::mean_squared_error{}, st::optim::sgd{.lr = 0.02},
                           st::epochs{5}, st::batch_size{8}, st::validation{problem.val},
                           st::lambda_callback{.on_batch_end_fn =
                                                   [](st::training_view& s) {
                                                       if (s.epoch() == 2 && s.batch() == 3) ::raise(SIGINT);
                                                   },
                                               .on_train_end_fn = [&](st::training_view&) { ended = true; }});
    CHECK(ended);
    CHECK(h.cause == st::stop_cause::interrupted);
    CHECK(h.stop_reason == "interrupted by SIGINT at epoch 2, batch 3 of 8");
    REQUIRE(h.epochs.size() == 2);
    CHECK(std::isfinite(h.epochs[1].val_loss));  // the partial epoch is validated and recorded
    // The handler is gone afterwards: the default disposition is back.
    struct sigaction now {};
    ::sigaction(SIGINT, nullptr, &now);
    const bool default_disposition = now.sa_handler == SIG_DFL;
    CHECK(default_disposition);
    ::sigaction(SIGINT, &doctest_handler, nullptr);
}

TEST_CASE("class_balanced_sampler draws every class about equally often; trainer::run takes it") {
    // 90% of the samples are class 0, 9% class 1, 1% class 2.
    std::vector<std::size_t> labels(1000, 0);
    for (std::size_t i = 0; i < 90; ++i) labels[i * 10 + 1] = 1;
    for (std::size_t i = 0; i < 10; ++i) labels[i * 100 + 3] = 2;
    st::data::class_balanced_sampler sampler(labels, 3, 1);
    std::size_t counts[3] = {};
    for (int epoch = 0; epoch < 30; ++epoch)
        for (const std::size_t i : sampler.next_epoch()) ++counts[labels[i]];
    for (const std::size_t c : counts) CHECK(std::abs(double(c) / 30000.0 - 1.0 / 3) < 0.01);
    CHECK_THROWS_WITH_AS(st::data::class_balanced_sampler(labels, 4, 1),
                         doctest::Contains("class 3 has no samples"), st::usage_error);

    // A balanced run over a dataset through trainer::run.
    const overshoot problem;
    auto data = problem.train;
    for (std::size_t i = 0; i < data.size(); ++i) data.y.data()[i] = i % 8 == 0 ? 1.0f : 0.0f;
    st::sequential<st::input<2>, st::dense<2>> net{st::seed{1}};
    st::trainer t(net, st::loss::sparse_categorical_crossentropy{.from_logits = true}, st::optim::adam{});
    st::data::class_balanced_sampler balanced(data, 2, 3);
    const auto h = t.run(data, balanced, 2, 16, nullptr);
    CHECK(h.epochs.size() == 2);
}
