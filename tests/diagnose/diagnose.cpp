// diagnose on synthetic histories of each failure (and variations of them:
// lengths, noise, loss scales), audit on Fashion-MNIST with injected copies
// and broken images, likely_mislabelled and per-sample losses, and the
// diagnostics callback in a short fit.
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <strata/diagnose/diagnose.hpp>
#include <strata/strata.hpp>

namespace st = strata;

namespace {

// ---- synthetic histories ----------------------------------------------------

// A curve as a function of the 1-based epoch.
using shape = std::function<double(double)>;

struct variation {
    std::size_t epochs = 10;
    double scale = 1;          // multiplies every loss
    std::uint64_t seed = 0;    // 0: no noise
    std::size_t classes = 10;  // 0: unknown (used with scaled losses, which are no longer a 10-class CE)
};

// Epoch means of the training loss average many batches (noise ~0.3%);
// validation means over a few thousand samples move more (~2%).
constexpr double train_noise = 0.003, val_noise = 0.02, accuracy_noise = 0.003, val_accuracy_noise = 0.008;

st::history make(const variation& v, shape loss, shape val_loss, shape accuracy = {}, shape val_accuracy = {},
                 double lr = 1e-3) {
    st::history h;
    st::rng r(v.seed);
    const auto noise = [&](double sd) { return v.seed ? sd * r.normal() : 0.0; };
    for (std::size_t e = 1; e <= v.epochs; ++e) {
        const double t = static_cast<double>(e);
        st::epoch_record rec;
        rec.epoch = e;
        rec.loss = v.scale * loss(t) * (1 + noise(train_noise));
        if (val_loss) rec.val_loss = v.scale * val_loss(t) * (1 + noise(val_noise));
        if (accuracy) rec.accuracy = std::clamp(accuracy(t) + noise(accuracy_noise), 0.0, 1.0);
        if (val_accuracy)
            rec.val_accuracy = std::clamp(val_accuracy(t) + noise(val_accuracy_noise), 0.0, 1.0);
        rec.learning_rate = lr;
        h.epochs.push_back(rec);
    }
    return h;
}

// A well-set run: fast descent, validation just above training, converged.
st::history healthy(const variation& v) {
    return make(
        v, [](double t) { return 0.25 + 0.35 * std::exp(-(t - 1) / 2); },
        [](double t) { return 0.29 + 0.15 * std::exp(-(t - 1) / 2); },
        [](double t) { return 0.91 - 0.10 * std::exp(-(t - 1) / 2); },
        [](double t) { return 0.895 - 0.06 * std::exp(-(t - 1) / 2); });
}

// Training loss to ~0, validation loss bottoming out at epoch ~5 then rising.
st::history overfit(const variation& v) {
    return make(
        v, [](double t) { return 0.02 + 0.6 * std::exp(-(t - 1) / 3); },
        [](double t) {
            return 0.33 + 0.15 * std::exp(-(t - 1) / 1.5) + 0.03 * std::pow(std::max(0.0, t - 5), 1.2);
        },
        [](double t) { return 0.995 - 0.2 * std::exp(-(t - 1) / 3); },
        [](double t) { return 0.86 - 0.06 * std::exp(-(t - 1) / 1.5); });
}

// A network too small: a quick plateau at 70% accuracy, validation alike.
st::history underfit(const variation& v) {
    return make(
        v, [](double t) { return 0.85 + 0.35 * std::exp(-(t - 1) / 1.5); },
        [](double t) { return 0.87 + 0.3 * std::exp(-(t - 1) / 1.5); },
        [](double t) { return 0.70 - 0.12 * std::exp(-(t - 1) / 1.5); },
        [](double t) { return 0.69 - 0.10 * std::exp(-(t - 1) / 1.5); });
}

// Steps too small: a steady, slow descent from near chance (log 10 = 2.30).
st::history slow(const variation& v) {
    return make(
        v, [](double t) { return 2.35 - 0.03 * (t - 1); }, [](double t) { return 2.33 - 0.03 * (t - 1); },
        [](double t) { return 0.12 + 0.02 * (t - 1); }, [](double t) { return 0.13 + 0.02 * (t - 1); }, 1e-5);
}

// Steps too large: a loss that climbs after the first epoch.
st::history diverging(const variation& v) {
    return make(
        v, [](double t) { return 2.1 + 0.25 * (t - 1); }, [](double t) { return 2.3 + 0.3 * (t - 1); },
        [](double) { return 0.1; }, [](double) { return 0.1; }, 0.5);
}

// Steps too large: a loss that jumps up and down.
st::history oscillating(const variation& v) {
    return make(
        v, [](double t) { return 1.0 + (static_cast<int>(t) % 2 ? 0.25 : -0.05) * std::exp(-(t - 1) / 40); },
        [](double t) { return 1.1 + (static_cast<int>(t) % 2 ? 0.3 : -0.05); },
        [](double t) { return static_cast<int>(t) % 2 ? 0.55 : 0.65; },
        [](double t) { return static_cast<int>(t) % 2 ? 0.5 : 0.62; }, 0.05);
}

st::finding_kind top_kind(const std::vector<st::finding>& f) {
    REQUIRE_MESSAGE(!f.empty(), "no finding");
    return f.front().kind;
}

std::string describe(const std::vector<st::finding>& findings) {
    std::string s;
    for (const auto& f : findings) s += st::to_string(f) + "\n";
    return s;
}

bool has_warning(const std::vector<st::finding>& f) {
    return std::any_of(f.begin(), f.end(),
                       [](const st::finding& x) { return x.level >= st::severity::warning; });
}

// Every variation of a scenario: lengths, noise seeds and loss scales.
std::vector<variation> variations(std::vector<std::size_t> lengths, bool scales = true) {
    std::vector<variation> out;
    for (const std::size_t n : lengths)
        for (const std::uint64_t seed : {0, 1, 2, 3, 4, 5}) {
            out.push_back({.epochs = n, .seed = seed});
            if (scales)
                for (const double scale : {0.3, 3.0})
                    out.push_back({.epochs = n, .scale = scale, .seed = seed, .classes = 0});
        }
    return out;
}

std::string label(const variation& v) {
    std::ostringstream s;
    s << "epochs " << v.epochs << ", scale " << v.scale << ", seed " << v.seed << ", classes " << v.classes;
    return s.str();
}

}  // namespace

TEST_CASE("diagnose: a healthy run has nothing of warning severity, whatever its length, noise or scale") {
    for (const auto& v : variations({10, 15, 25})) {
        const auto findings = st::diagnose(healthy(v), {.classes = v.classes});
        CHECK_MESSAGE(!has_warning(findings), label(v) << "\n" << describe(findings));
    }
}

TEST_CASE("diagnose: overfitting, from the validation loss rising and the accuracy gap") {
    for (const auto& v : variations({12, 20, 40})) {
        const auto findings = st::diagnose(overfit(v), {.classes = v.classes});
        CHECK_MESSAGE(top_kind(findings) == st::finding_kind::overfitting, label(v) << "\n"
                                                                                    << describe(findings));
        CHECK(findings.front().level == st::severity::warning);
    }
    const auto f = st::diagnose(overfit({.epochs = 20}), {.classes = 10});
    // The evidence names the minimum's epoch and the advice strata's options.
    CHECK(f.front().evidence.find("at epoch 5") != std::string::npos);
    CHECK(f.front().advice.find("st::early_stopping{.monitor = st::metric::val_loss, .patience = 3, "
                                ".restore_best_weights = true}") != std::string::npos);
    CHECK(f.front().advice.find("st::dropout<0.3>") != std::string::npos);
    CHECK(f.front().advice.find("st::augment::pipeline{") != std::string::npos);
    CHECK(f.front().advice.find("st::weight_penalty{st::regularize::l2{1e-4}}") != std::string::npos);
}

TEST_CASE("diagnose: underfitting, from low flat training accuracy close to validation") {
    for (const auto& v : variations({8, 15, 30})) {
        const auto findings = st::diagnose(underfit(v), {.classes = v.classes});
        CHECK_MESSAGE(top_kind(findings) == st::finding_kind::underfitting, label(v) << "\n"
                                                                                     << describe(findings));
    }
}

TEST_CASE("diagnose: a learning rate too high, from NaN, a rising loss or oscillation") {
    SUBCASE("NaN: an error, first") {
        st::history h = diverging({.epochs = 3});
        h.cause = st::stop_cause::bad_step;
        h.stop_reason = "non-finite loss in epoch 4, step 3000";
        h.stopped_epoch = 4;
        const auto findings = st::diagnose(h, {.classes = 10});
        REQUIRE(top_kind(findings) == st::finding_kind::learning_rate_too_high);
        CHECK(findings.front().level == st::severity::error);
        CHECK(findings.front().advice.find("st::optim::adam{.lr = 0.05}") != std::string::npos);
        CHECK(findings.front().evidence.find("non-finite loss in epoch 4") != std::string::npos);
    }
    SUBCASE("a loss rising from the first epochs") {
        for (const auto& v : variations({3, 6, 12})) {
            const auto findings = st::diagnose(diverging(v), {.classes = v.classes});
            CHECK_MESSAGE(top_kind(findings) == st::finding_kind::learning_rate_too_high,
                          label(v) << "\n"
                                   << describe(findings));
        }
    }
    SUBCASE("an oscillating loss") {
        for (const auto& v : variations({6, 10, 20})) {
            const auto findings = st::diagnose(oscillating(v), {.classes = v.classes});
            CHECK_MESSAGE(top_kind(findings) == st::finding_kind::learning_rate_too_high,
                          label(v) << "\n"
                                   << describe(findings));
        }
    }
    SUBCASE("a first epoch that blew the outputs up, then stuck at chance") {
        const auto h = make(
            {.epochs = 6}, [](double t) { return t == 1 ? 9.0 : 2.31 + 0.002 * std::sin(t); }, {},
            [](double) { return 0.1; });
        const auto findings = st::diagnose(h, {.classes = 10});
        CHECK_MESSAGE(top_kind(findings) == st::finding_kind::learning_rate_too_high, describe(findings));
    }
}

TEST_CASE("diagnose: a learning rate too low, from a slow steady descent far from converged") {
    for (const auto& v : variations({5, 10, 20})) {
        const auto findings = st::diagnose(slow(v), {.classes = v.classes});
        CHECK_MESSAGE(top_kind(findings) == st::finding_kind::learning_rate_too_low,
                      label(v) << "\n"
                               << describe(findings));
    }
    const auto f = st::diagnose(slow({.epochs = 10}), {.classes = 10});
    CHECK(f.front().advice.find("st::optim::adam{.lr = 0.0001}") != std::string::npos);
    // No underfitting or too-few-epochs on top of the cause.
    CHECK(f.size() == 1);
}

TEST_CASE("diagnose: too few epochs, from a validation loss still falling at the end") {
    for (const std::size_t n : {2, 3, 4, 5}) {
        for (const std::uint64_t seed : {0, 1, 2, 3}) {
            const variation v{.epochs = n, .seed = seed};
            const auto findings = st::diagnose(healthy(v), {.classes = 10});
            CHECK_MESSAGE(top_kind(findings) == st::finding_kind::too_few_epochs, label(v)
                                                                                      << "\n"
                                                                                      << describe(findings));
        }
    }
    // Early stopping ended the run: never too few epochs.
    st::history h = healthy({.epochs = 4});
    h.cause = st::stop_cause::callback;
    h.stop_reason = "early stopping after epoch 4";
    for (const auto& f : st::diagnose(h, {.classes = 10})) CHECK(f.kind != st::finding_kind::too_few_epochs);
}

TEST_CASE("diagnose: class imbalance, from the class counts or the validation recall") {
    const st::history h = healthy({.epochs = 12});
    SUBCASE("counts 20:1") {
        std::vector<std::size_t> counts(10, 6000);
        counts[3] = 300;
        const auto findings = st::diagnose(h, {.train_class_counts = counts});
        REQUIRE(top_kind(findings) == st::finding_kind::class_imbalance);
        CHECK(findings.front().level == st::severity::warning);
        CHECK(findings.front().evidence.find("class 3") != std::string::npos);
        CHECK(findings.front().advice.find("st::class_weights::balanced(train, 10)") != std::string::npos);
        CHECK(findings.front().advice.find("st::class_balanced_sampling{10}") != std::string::npos);
        CHECK(findings.front().advice.find("st::data::random_oversample(train, 10, seed)") !=
              std::string::npos);
    }
    SUBCASE("a class without samples is an error") {
        std::vector<std::size_t> counts(10, 100);
        counts[7] = 0;
        const auto findings = st::diagnose(h, {.train_class_counts = counts});
        REQUIRE(top_kind(findings) == st::finding_kind::class_imbalance);
        CHECK(findings.front().level == st::severity::error);
    }
    // 100 validation samples per class, 90% recall, but class 3 rarely predicted.
    const auto confusion = [](std::size_t weak, std::size_t weak_hits) {
        st::metrics::confusion_matrix m(10);
        for (std::size_t c = 0; c < 10; ++c) {
            const std::size_t hits = c == weak ? weak_hits : 90;
            m.add(c, c, hits);
            m.add(c, (c + 1) % 10, 100 - hits);
        }
        return m;
    };
    SUBCASE("recall of a rare class far below the others") {
        const auto findings = st::diagnose(h, {.validation_confusion = confusion(3, 30)});
        REQUIRE(top_kind(findings) == st::finding_kind::class_imbalance);
        CHECK(findings.front().evidence.find("class 3 is 0.3") != std::string::npos);
    }
    SUBCASE("counts 5:1 and the rare class left behind: a warning") {
        std::vector<std::size_t> counts(10, 5000);
        counts[3] = 1000;
        const auto findings =
            st::diagnose(h, {.validation_confusion = confusion(3, 40), .train_class_counts = counts});
        REQUIRE(top_kind(findings) == st::finding_kind::class_imbalance);
        CHECK(findings.front().level == st::severity::warning);
    }
    SUBCASE("a hard class among balanced ones is not imbalance") {
        // Fashion-MNIST's shirts: recall ~0.65 against a mean of ~0.9, balanced counts.
        const auto findings = st::diagnose(h, {.validation_confusion = confusion(6, 65),
                                               .train_class_counts = std::vector<std::size_t>(10, 6000)});
        CHECK_MESSAGE(!has_warning(findings), describe(findings));
        const auto alone = st::diagnose(h, {.validation_confusion = confusion(6, 65)});
        CHECK_MESSAGE(!has_warning(alone), describe(alone));
    }
}

namespace {

// A history from columns of numbers, as a fit prints them.
st::history columns(std::vector<double> loss, std::vector<double> accuracy, std::vector<double> val_loss,
                    std::vector<double> val_accuracy, double lr = 1e-3) {
    st::history h;
    for (std::size_t e = 0; e < loss.size(); ++e) {
        st::epoch_record r;
        r.epoch = e + 1;
        r.loss = loss[e];
        r.accuracy = accuracy[e];
        r.val_loss = val_loss[e];
        r.val_accuracy = val_accuracy[e];
        r.learning_rate = lr;
        h.epochs.push_back(r);
    }
    return h;
}

}  // namespace

TEST_CASE("diagnose: curves shaped like real runs") {
    SUBCASE(
        "a small CNN on Fashion-MNIST, 10 epochs without dropout: validation flattening, nothing to warn "
        "of") {
        const auto h = columns({0.52, 0.34, 0.29, 0.26, 0.24, 0.22, 0.20, 0.19, 0.175, 0.165},
                               {0.81, 0.88, 0.89, 0.905, 0.91, 0.92, 0.925, 0.93, 0.935, 0.94},
                               {0.37, 0.31, 0.29, 0.28, 0.27, 0.265, 0.26, 0.265, 0.27, 0.275},
                               {0.87, 0.89, 0.895, 0.90, 0.905, 0.905, 0.91, 0.908, 0.91, 0.91});
        const auto findings = st::diagnose(h, {.classes = 10});
        CHECK_MESSAGE(!has_warning(findings), describe(findings));
    }
    SUBCASE("with dropout 0.5: validation above training by a few points, nothing to warn of") {
        const auto h = columns({0.70, 0.48, 0.43, 0.40, 0.38, 0.37, 0.36, 0.355, 0.35, 0.345},
                               {0.74, 0.83, 0.845, 0.855, 0.86, 0.865, 0.868, 0.87, 0.872, 0.874},
                               {0.42, 0.36, 0.33, 0.315, 0.305, 0.30, 0.297, 0.295, 0.294, 0.293},
                               {0.85, 0.87, 0.88, 0.885, 0.89, 0.892, 0.894, 0.895, 0.896, 0.896});
        const auto findings = st::diagnose(h, {.classes = 10});
        CHECK_MESSAGE(!has_warning(findings), describe(findings));
    }
    SUBCASE("stopped by early stopping a few epochs after the best: nothing to warn of") {
        auto h = columns({0.52, 0.34, 0.29, 0.26, 0.24, 0.22, 0.20, 0.19, 0.175, 0.165},
                         {0.81, 0.88, 0.89, 0.905, 0.91, 0.92, 0.925, 0.93, 0.935, 0.94},
                         {0.37, 0.31, 0.29, 0.28, 0.27, 0.265, 0.26, 0.268, 0.271, 0.276},
                         {0.87, 0.89, 0.895, 0.90, 0.905, 0.905, 0.91, 0.908, 0.91, 0.91});
        h.cause = st::stop_cause::callback;
        h.stop_reason =
            "early stopping after epoch 10: val_loss did not improve for 3 epochs (best 0.26 at epoch 7)";
        h.best_epoch = 7;
        const auto findings = st::diagnose(h, {.classes = 10});
        CHECK_MESSAGE(!has_warning(findings), describe(findings));
    }
    SUBCASE("20% of the training labels shuffled: validation above training, labels suspected") {
        const auto h = columns({1.45, 1.20, 1.14, 1.11, 1.09, 1.08, 1.075, 1.07, 1.066, 1.063},
                               {0.58, 0.68, 0.70, 0.71, 0.715, 0.72, 0.722, 0.724, 0.725, 0.726},
                               {0.62, 0.48, 0.43, 0.41, 0.40, 0.395, 0.39, 0.39, 0.388, 0.387},
                               {0.80, 0.84, 0.86, 0.865, 0.87, 0.872, 0.874, 0.875, 0.875, 0.876});
        const auto findings = st::diagnose(h, {.classes = 10});
        REQUIRE(top_kind(findings) == st::finding_kind::likely_mislabelled);
        for (const auto& f : findings) CHECK(f.kind != st::finding_kind::underfitting);
        // With the per-sample candidates given too, one finding carries both signs.
        std::vector<double> losses(1000, 0.1);
        for (std::size_t i = 0; i < 180; ++i) losses[i * 5] = 3.5;
        const auto both =
            st::diagnose(h, {.classes = 10, .mislabelled = st::likely_mislabelled(losses, 20, 10)});
        REQUIRE(top_kind(both) == st::finding_kind::likely_mislabelled);
        CHECK(std::count_if(both.begin(), both.end(), [](const st::finding& f) {
                  return f.kind == st::finding_kind::likely_mislabelled;
              }) == 1);
        CHECK(both.front().evidence.find("validation accuracy 0.875 is 0.15 above") != std::string::npos);
    }
    SUBCASE("SGD at a small rate: still falling fast after 5 epochs, far from converged") {
        const auto h = columns({2.25, 2.05, 1.80, 1.55, 1.33}, {0.2, 0.35, 0.45, 0.52, 0.57},
                               {2.15, 1.93, 1.68, 1.44, 1.25}, {0.3, 0.42, 0.5, 0.55, 0.59}, 1e-4);
        const auto findings = st::diagnose(h, {.classes = 10});
        REQUIRE(top_kind(findings) == st::finding_kind::too_few_epochs);
        CHECK(findings.front().advice.find("st::optim::adam{.lr = 0.0003}") != std::string::npos);
    }
}

TEST_CASE("diagnose: findings come most severe first, then by score, and print readably") {
    st::history h = overfit({.epochs = 20});
    std::vector<std::size_t> counts(10, 6000);
    counts[0] = 30;  // ratio 200: a higher score than the overfitting's
    const auto findings = st::diagnose(h, {.train_class_counts = counts});
    REQUIRE(findings.size() >= 2);
    for (std::size_t i = 1; i < findings.size(); ++i) {
        CHECK(findings[i - 1].level >= findings[i].level);
        if (findings[i - 1].level == findings[i].level) CHECK(findings[i - 1].score >= findings[i].score);
    }
    CHECK(findings.front().kind == st::finding_kind::class_imbalance);
    const std::string text = st::to_string(findings.front());
    CHECK(text.rfind("[warning] class_imbalance: ", 0) == 0);
    CHECK(text.find("\n  evidence: ") != std::string::npos);
    CHECK(text.find("\n  advice: ") != std::string::npos);
    CHECK(st::to_string(st::finding_kind::likely_mislabelled) == "likely_mislabelled");
    CHECK(st::to_string(st::severity::error) == "error");
}

// ---- audit on Fashion-MNIST -------------------------------------------------

namespace {

const st::data::fashion_mnist_set& fashion() {
    static const st::data::fashion_mnist_set data = st::data::fashion_mnist();
    return data;
}

float* image(st::data::dataset<float>& d, std::size_t i) { return d.x.data() + i * d.sample_size(); }
const float* image(const st::data::dataset<float>& d, std::size_t i) {
    return d.x.data() + i * d.sample_size();
}

bool has_pair(const st::duplicate_list& list, std::size_t first, std::size_t second) {
    return std::any_of(list.examples.begin(), list.examples.end(),
                       [&](const st::duplicate_pair& p) { return p.first == first && p.second == second; });
}

}  // namespace

TEST_CASE("audit: Fashion-MNIST with injected copies, blank, NaN and out-of-range images") {
    constexpr std::size_t train_n = 4000, test_n = 1000;
    const auto train_clean = st::data::take(fashion().train, train_n);
    const auto test = st::data::take(fashion().test, test_n);
    const st::audit_options options{.listed = 1000};

    // The clean slices: no broken images, no exact copies. Fashion-MNIST has a
    // few natural near copies (the same product photographed twice).
    const st::audit_report clean = st::audit(train_clean, &test, options);
    CHECK(clean.train.blank.count == 0);
    CHECK(clean.train.non_finite.count == 0);
    CHECK(clean.train.out_of_range.count == 0);
    CHECK(clean.test.blank.count + clean.test.non_finite.count + clean.test.out_of_range.count == 0);
    CHECK(clean.exact_train_test.count == 0);
    CHECK(clean.exact_within_train.count == 0);
    MESSAGE("natural near copies in the clean slices: " << clean.near_train_test.count << " train/test, "
                                                        << clean.near_within_train.count
                                                        << " within training");
    std::set<std::size_t> natural_train;  // training images in natural pairs
    for (const auto& p : clean.near_train_test.examples) natural_train.insert(p.first);
    for (const auto& p : clean.near_within_train.examples)
        natural_train.insert(p.first), natural_train.insert(p.second);
    // Few: well under the leak threshold.
    CHECK(static_cast<double>(clean.test_images_in_train) < st::diagnosis::leak_fraction_error * test_n);

    auto train = train_clean;
    const std::size_t pixels = train.sample_size();
    st::rng noise(7);
    const auto copy_test = [&](std::size_t to, std::size_t from, auto change) {
        for (std::size_t k = 0; k < pixels; ++k)
            image(train, to)[k] = std::clamp(change(image(test, from)[k]), 0.0f, 1.0f);
    };
    // Injected at indices away from the natural pairs.
    const auto free_index = [&](std::size_t i) {
        while (natural_train.count(i) || natural_train.count(i + 1)) i += 7;
        return i;
    };
    const std::size_t exact_a = free_index(100), exact_b = free_index(200), noised = free_index(300),
                      brighter = free_index(400), contrast = free_index(500), blank = free_index(600),
                      nan_image = free_index(700), out_of_range = free_index(800), repeat = free_index(900),
                      near_repeat = free_index(1000);
    copy_test(exact_a, 10, [](float v) { return v; });
    copy_test(exact_b, 20, [](float v) { return v; });
    copy_test(noised, 30, [&](float v) { return v + static_cast<float>(0.02 * noise.normal()); });
    copy_test(brighter, 40, [](float v) { return v + 0.1f; });
    copy_test(contrast, 50, [](float v) { return 0.8f * v + 0.05f; });
    std::fill_n(image(train, blank), pixels, 0.0f);
    image(train, nan_image)[5] = std::numeric_limits<float>::quiet_NaN();
    image(train, out_of_range)[300] = 1.5f;
    std::copy_n(image(train, repeat), pixels, image(train, repeat + 1));
    for (std::size_t k = 0; k < pixels; ++k)
        image(train, near_repeat + 1)[k] =
            std::clamp(image(train, near_repeat)[k] + static_cast<float>(0.02 * noise.normal()), 0.0f, 1.0f);

    const st::audit_report r = st::audit(train, &test, options);
    CHECK(r.exact_train_test.count == 2);
    CHECK(has_pair(r.exact_train_test, exact_a, 10));
    CHECK(has_pair(r.exact_train_test, exact_b, 20));
    CHECK(has_pair(r.near_train_test, noised, 30));
    CHECK(has_pair(r.near_train_test, brighter, 40));
    CHECK(has_pair(r.near_train_test, contrast, 50));
    CHECK(r.test_images_in_train == clean.test_images_in_train + 5);
    CHECK(r.train.blank.examples == std::vector<std::size_t>{blank});
    CHECK(r.train.non_finite.examples == std::vector<std::size_t>{nan_image});
    CHECK(r.train.out_of_range.examples == std::vector<std::size_t>{out_of_range});
    CHECK(r.train.max_pixel == doctest::Approx(1.5));
    CHECK(r.exact_within_train.count == 1);
    CHECK(has_pair(r.exact_within_train, repeat, repeat + 1));
    CHECK(has_pair(r.near_within_train, near_repeat, near_repeat + 1));
    // No false positives: beyond the injected ones, only the natural pairs.
    CHECK(r.near_train_test.count == clean.near_train_test.count + 3);
    CHECK(r.near_within_train.count == clean.near_within_train.count + 1);

    const auto findings = st::findings_of(r);
    std::set<st::finding_kind> kinds;
    for (const auto& f : findings) kinds.insert(f.kind);
    CHECK(kinds == std::set<st::finding_kind>{st::finding_kind::data_leak, st::finding_kind::duplicates,
                                              st::finding_kind::non_finite, st::finding_kind::bad_pixels,
                                              st::finding_kind::blank_images});
    CHECK(findings.front().kind == st::finding_kind::non_finite);
    CHECK(findings.front().level == st::severity::error);
    for (const auto& f : findings)
        if (f.kind == st::finding_kind::data_leak)
            CHECK(f.level == st::severity::warning);  // exact copies, 0.5%

    // diagnose carries them next to a healthy history's.
    const auto all = st::diagnose(healthy({.epochs = 12}), {.audit = r, .classes = 10});
    CHECK(all.size() == findings.size());
    CHECK(all.front().kind == st::finding_kind::non_finite);

    // A leak of 5% of the test set is an error.
    auto leaky = train_clean;
    for (std::size_t i = 0; i < 50; ++i) std::copy_n(image(test, 500 + i), pixels, image(leaky, 2000 + i));
    const auto leak = st::findings_of(st::audit(leaky, &test, options));
    REQUIRE(!leak.empty());
    CHECK(leak.front().kind == st::finding_kind::data_leak);
    CHECK(leak.front().level == st::severity::error);
}

TEST_CASE("audit: data on the wrong scale, shape mismatches and a clean report") {
    auto d = st::data::take(fashion().test, 200);
    for (std::size_t i = 0; i < d.x.size(); ++i) d.x.data()[i] *= 255;
    const auto findings = st::findings_of(st::audit(d));
    REQUIRE(!findings.empty());
    CHECK(findings.front().kind == st::finding_kind::bad_pixels);
    CHECK(findings.front().level == st::severity::error);
    CHECK(findings.front().advice.find("255") != std::string::npos);
    // The right range for it: clean.
    CHECK(st::audit(d, nullptr, {.min_value = 0, .max_value = 255}).clean());

    st::data::dataset<float> other;
    other.x = xt::xtensor<float, 4>({2, 14, 14, 1});
    other.y = xt::xtensor<float, 2>({2, 1});
    CHECK_THROWS_WITH_AS(st::audit(d, &other), doctest::Contains("copies can only be looked for"),
                         st::usage_error);
}

// ---- likely mislabelled -----------------------------------------------------

TEST_CASE("likely_mislabelled: the highest losses above median + 3 MAD and log(classes)") {
    std::vector<double> losses(1000);
    st::rng r(3);
    for (auto& l : losses) l = 0.05 * -std::log(1 - r.uniform());  // exponential, mean 0.05
    const std::vector<std::size_t> wrong{17, 230, 512, 999};
    for (std::size_t k = 0; k < wrong.size(); ++k) losses[wrong[k]] = 4.0 + static_cast<double>(k);
    losses[42] = std::numeric_limits<double>::quiet_NaN();  // skipped
    const auto m = st::likely_mislabelled(losses, 3, 10);
    CHECK(m.examined == 999);
    CHECK(m.above_threshold == 4);
    CHECK(m.indices == std::vector<std::size_t>{999, 512, 230});  // highest first, at most k
    CHECK(m.threshold == doctest::Approx(std::log(10.0)));  // the floor: the robust threshold is lower here
    CHECK(m.median == doctest::Approx(0.05 * std::log(2.0)).epsilon(0.15));
    const auto f = st::findings_of(m);
    REQUIRE(f.size() == 1);
    CHECK(f.front().kind == st::finding_kind::likely_mislabelled);
    CHECK(f.front().level == st::severity::info);  // 0.4%: a trained model's usual few

    // 10% noisy labels: a warning, and diagnose ranks it with the history's findings.
    for (std::size_t i = 0; i < 100; ++i) losses[i * 10 + 1] = 3 + r.uniform();
    const auto noisy = st::likely_mislabelled(losses, 20, 10);
    CHECK(noisy.above_threshold >= 100);
    const auto all = st::diagnose(healthy({.epochs = 12}), {.classes = 10, .mislabelled = noisy});
    REQUIRE(!all.empty());
    CHECK(all.front().kind == st::finding_kind::likely_mislabelled);
    CHECK(all.front().level == st::severity::warning);
}

TEST_CASE("per_sample_losses: from outputs and from a network") {
    st::data::dataset<float> d;
    d.x = xt::xtensor<float, 4>({3, 1, 2, 1});
    d.y = xt::xtensor<float, 2>({3, 1});
    for (std::size_t i = 0; i < 6; ++i) d.x.data()[i] = 0.1f * static_cast<float>(i);
    d.y(0, 0) = 0;
    d.y(1, 0) = 2;
    d.y(2, 0) = 1;
    xt::xtensor<float, 2> probabilities = {{0.7f, 0.2f, 0.1f}, {0.5f, 0.4f, 0.1f}, {0.1f, 0.8f, 0.1f}};
    const auto losses = st::per_sample_losses(probabilities, d, st::loss::sparse_categorical_crossentropy{});
    REQUIRE(losses.size() == 3);
    CHECK(losses[0] == doctest::Approx(-std::log(0.7)));
    CHECK(losses[1] == doctest::Approx(-std::log(0.1)));
    CHECK(losses[2] == doctest::Approx(-std::log(0.8)));

    st::sequential<st::input<1, 2, 1>, st::flatten, st::dense<3, st::softmax>> net{st::seed{1}};
    const st::loss::sparse_categorical_crossentropy loss;
    const auto from_net = st::per_sample_losses(net, d, loss);
    const auto outputs = st::predict(net, d.x);
    for (std::size_t i = 0; i < 3; ++i) {
        const auto label = static_cast<std::size_t>(d.y(i, 0));
        CHECK(from_net[i] == doctest::Approx(-std::log(static_cast<double>(outputs(i, label)))));
    }
    const double mean = (from_net[0] + from_net[1] + from_net[2]) / 3;
    CHECK(mean == doctest::Approx(st::evaluate(net, d, loss).loss));
    CHECK_THROWS_AS(st::per_sample_losses(xt::xtensor<float, 2>({2, 3}), d, loss), st::usage_error);
}

// ---- the diagnostics callback ------------------------------------------------

TEST_CASE("diagnostics: per-tensor weight norms and update ratios in a short fit") {
    const auto train = st::data::take(fashion().train, 512);
    st::sequential<st::input<28, 28, 1>, st::flatten, st::dense<16, st::relu>, st::dense<10, st::softmax>>
        net{st::seed{1}};
    st::diagnostics probe{.probe_every = 4};
    const auto h =
        st::fit(net, train, st::loss::sparse_categorical_crossentropy{}, st::optim::adam{.lr = 1e-3},
                st::epochs{2}, st::batch_size{32}, st::threads{1}, probe);
    const auto& records = *probe.records;
    REQUIRE(records.size() == 2);
    for (const auto& e : records) {
        CHECK(e.finite());
        CHECK(e.probed_steps >= 3);  // 16 steps per epoch, one in 4 probed (the last one in the next epoch)
        REQUIRE(e.tensors.size() == 4);  // two kernels and two biases
        CHECK(e.tensors[0].name == "1_dense.weight");
        CHECK(e.tensors[0].kernel);
        CHECK(!e.tensors[1].kernel);
        CHECK(e.tensors[0].norm > 0);
        CHECK(e.tensors[0].epoch_change > 0);
        // Adam moves each weight by about lr per step: a small fraction of the kernel.
        CHECK(e.median_kernel_update_ratio() > 1e-4);
        CHECK(e.median_kernel_update_ratio() < 0.1);
        CHECK(e.learning_rate == doctest::Approx(1e-3));
    }
    const auto findings = st::diagnose(h, {.classes = 10, .diagnostics = records});
    for (const auto& f : findings)
        CHECK_MESSAGE(f.kind != st::finding_kind::learning_rate_too_high, describe(findings));
}
