// diagnose: what is wrong with a fit, read from its history (and, when given,
// the validation confusion matrix, the training class counts, a data audit,
// likely mislabelled samples and the diagnostics callback's records). Each
// finding says what, how bad, the numbers behind it and what to try in
// strata's API; they come most severe first, then by score. Every threshold
// is a named constant in thresholds.hpp, with the reasoning behind it.
//
// Causes are checked in order and a cause found hides its symptoms:
// non-finite training and a too-high rate hide "too low", "underfitting",
// "too few epochs" and label noise, and units a too-high rate killed join
// its finding; an unsuited architecture, dead or saturated units and
// vanishing or exploding gradients (warning or above) hide "too low",
// "underfitting" and "too few epochs"; a too-low rate hides the last two and
// label noise; noisy training labels (validation accuracy well above
// training accuracy) hide underfitting, and underfitting makes high
// per-sample losses a note.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../metrics/metrics.hpp"
#include "../train/history.hpp"
#include "architecture.hpp"
#include "audit.hpp"
#include "diagnostics.hpp"
#include "finding.hpp"
#include "thresholds.hpp"

namespace strata {

// What diagnose can read besides the history; every part is optional.
struct diagnose_inputs {
    // The validation pass's confusion matrix, e.g. evaluate(net, test, loss).confusion.
    std::optional<metrics::confusion_matrix> validation_confusion{};
    // Training samples per class, e.g. data::class_counts(train, classes).
    std::vector<std::size_t> train_class_counts{};
    // audit(train, &test): its findings join the history's.
    std::optional<audit_report> audit{};
    // 0: taken from the confusion matrix or the counts; unknown without them
    // (the rules that compare with chance are then skipped).
    std::size_t classes = 0;
    // likely_mislabelled(per_sample_losses(net, train, loss), k, classes).
    std::optional<mislabel_candidates> mislabelled{};
    // A diagnostics callback's records after fit (*probe.records).
    std::vector<epoch_diagnostics> diagnostics{};
    // architecture_of(net, loss): the network's structure, for the task.
    std::optional<architecture_facts> architecture{};
};

namespace detail::diagnose {

namespace dd = diagnosis::detail;

struct point {
    std::size_t epoch;
    double value;
};
using curve = std::vector<point>;

// One quantity over the epochs, finite values only.
inline curve series(const history& h, double epoch_record::*field) {
    curve c;
    for (const auto& e : h.epochs)
        if (std::isfinite(e.*field)) c.push_back({e.epoch, e.*field});
    return c;
}

inline double median(std::vector<double> v) {
    if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// Median of the last m values.
inline double tail_median(const curve& c, std::size_t m) {
    std::vector<double> v;
    for (std::size_t i = c.size() - std::min(m, c.size()); i < c.size(); ++i) v.push_back(c[i].value);
    return median(v);
}

// (v[t-1] - v[t]) / v[t-1]: positive when the value falls.
inline std::vector<double> relative_decreases(const curve& c) {
    std::vector<double> d;
    for (std::size_t t = 1; t < c.size(); ++t)
        d.push_back(c[t - 1].value != 0 ? (c[t - 1].value - c[t].value) / std::abs(c[t - 1].value) : 0.0);
    return d;
}

inline std::vector<double> last(const std::vector<double>& v, std::size_t m) {
    return {v.end() - static_cast<std::ptrdiff_t>(std::min(m, v.size())), v.end()};
}

// Least-squares slope per epoch over the last `window` points, and their mean.
inline std::pair<double, double> tail_slope(const curve& c, std::size_t window) {
    const std::size_t m = std::min(window, c.size()), first = c.size() - m;
    double mx = 0, my = 0;
    for (std::size_t i = first; i < c.size(); ++i) {
        mx += static_cast<double>(c[i].epoch);
        my += c[i].value;
    }
    mx /= static_cast<double>(m);
    my /= static_cast<double>(m);
    double sxy = 0, sxx = 0;
    for (std::size_t i = first; i < c.size(); ++i) {
        const double dx = static_cast<double>(c[i].epoch) - mx;
        sxy += dx * (c[i].value - my);
        sxx += dx * dx;
    }
    return {sxx > 0 ? sxy / sxx : 0.0, my};
}

// "0.52 (1), 0.41 (2), ..., 0.30 (10)": at most 10 epochs, the first 3 and the last 7.
inline std::string values_text(const curve& c, int digits = 3) {
    std::vector<std::string> shown;
    for (std::size_t i = 0; i < c.size(); ++i) {
        if (c.size() > 10 && i == 3) shown.push_back("...");
        if (c.size() > 10 && i >= 3 && i + 7 < c.size()) continue;
        shown.push_back(dd::number(c[i].value, digits) + " (" + std::to_string(c[i].epoch) + ")");
    }
    return dd::listing(shown, shown.size());
}

inline const point* at_epoch(const curve& c, std::size_t epoch) {
    for (const auto& p : c)
        if (p.epoch == epoch) return &p;
    return nullptr;
}

// What every rule reads.
struct run {
    const history* h = nullptr;
    curve loss, val_loss, accuracy, val_accuracy;
    std::size_t classes = 0;
    double chance_loss = std::numeric_limits<double>::quiet_NaN();  // log(classes)
    double chance_accuracy = 0;                                     // 1 / classes; 0 when unknown
    double peak_lr = std::numeric_limits<double>::quiet_NaN();
    const diagnose_inputs* extra = nullptr;
};

inline run read(const history& h, const diagnose_inputs& extra) {
    run r;
    r.h = &h;
    r.extra = &extra;
    r.loss = series(h, &epoch_record::loss);
    r.val_loss = series(h, &epoch_record::val_loss);
    r.accuracy = series(h, &epoch_record::accuracy);
    r.val_accuracy = series(h, &epoch_record::val_accuracy);
    r.classes = extra.classes;
    if (r.classes == 0 && extra.validation_confusion) r.classes = extra.validation_confusion->classes();
    if (r.classes == 0) r.classes = extra.train_class_counts.size();
    if (r.classes >= 2) {
        r.chance_loss = std::log(static_cast<double>(r.classes));
        r.chance_accuracy = 1.0 / static_cast<double>(r.classes);
    }
    for (const auto& e : h.epochs)
        if (std::isfinite(e.learning_rate) && !(e.learning_rate <= r.peak_lr)) r.peak_lr = e.learning_rate;
    return r;
}

// "set the optimizer's lr to 0.0001 (a tenth of 0.001): st::optim::adam{.lr = 0.0001}".
inline std::string rate_advice(const run& r, double factor, const char* relation) {
    if (!std::isfinite(r.peak_lr))
        return std::string("set the optimizer's lr to ") + relation + " the current rate";
    const std::string v = dd::number(r.peak_lr * factor, 2);
    return "set the optimizer's lr to " + v + " (" + relation + " " + dd::number(r.peak_lr, 3) +
           "), e.g. st::optim::adam{.lr = " + v + "} or st::optim::sgd{.lr = " + v + ", .momentum = 0.9}";
}

inline std::string update_ratio_text(const run& r) {
    std::vector<double> ratios;
    for (const auto& e : r.extra->diagnostics) {
        const double m = e.median_kernel_update_ratio();
        if (std::isfinite(m)) ratios.push_back(m);
    }
    if (ratios.empty()) return {};
    return "; diagnostics: one step changes the kernels by " + dd::number(median(ratios), 2) +
           " of their norm (median over epochs; around 1e-3 is typical, above " +
           dd::number(diagnosis::update_ratio_high) + " the steps rewrite the weights)";
}

// ---- the rules --------------------------------------------------------------

inline std::optional<finding> non_finite_training(const run& r) {
    const history& h = *r.h;
    bool nan_loss = false;
    for (const auto& e : h.epochs) nan_loss |= !std::isfinite(e.loss);
    bool nan_weights = false;
    for (const auto& e : r.extra->diagnostics) nan_weights |= !e.finite();
    if (h.cause != stop_cause::bad_step && !nan_loss && !nan_weights) return std::nullopt;
    const bool data_nan = r.extra->audit && (r.extra->audit->train.non_finite.count > 0);
    finding f{.kind = data_nan ? finding_kind::non_finite : finding_kind::learning_rate_too_high,
              .level = severity::error};
    f.score = 10;  // the run produced no usable model: always first
    f.summary = data_nan ? "training went non-finite, and the training data holds NaN or infinite pixels"
                         : "training went non-finite (NaN or infinite loss, gradient or weight): the steps "
                           "are too large";
    f.evidence = (h.stop_reason.empty() ? std::string("non-finite values in the history")
                                        : "stopped: " + h.stop_reason);
    if (!r.loss.empty()) f.evidence += "; training loss " + values_text(r.loss);
    if (std::isfinite(r.peak_lr)) f.evidence += "; learning rate " + dd::number(r.peak_lr);
    f.evidence += update_ratio_text(r);
    f.advice = data_nan ? "clean the images audit lists (non_finite), then train again"
                        : rate_advice(r, 0.1, "a tenth of") +
                              "; clip gradients (.clip = {.global_norm = 1.0} in the optimizer); add "
                              "st::batch_norm after convolutions";
    return f;
}

inline std::optional<finding> rate_too_high(const run& r) {
    const curve& l = r.loss;
    if (l.size() < 2) return std::nullopt;
    std::vector<std::string> signs;
    double score = 0;
    // Changes are measured against the first epoch's loss, the scale of the
    // run: a wobble of a loss already near 0 is not divergence.
    const double scale = std::abs(l[0].value);
    if (!(scale > 0)) return std::nullopt;
    // A rise above the best loss so far.
    double worst_rise = 0;
    std::size_t rise_at = 0, best_at = 0;
    double best = l[0].value;
    std::size_t best_epoch = l[0].epoch;
    for (std::size_t t = 1; t < l.size(); ++t) {
        const double rise = (l[t].value - best) / scale;
        if (rise > worst_rise) {
            worst_rise = rise;
            rise_at = l[t].epoch;
            best_at = best_epoch;
        }
        if (l[t].value < best) {
            best = l[t].value;
            best_epoch = l[t].epoch;
        }
    }
    if (worst_rise > diagnosis::loss_rise) {
        signs.push_back("the training loss rose by " + dd::percent(worst_rise) +
                        " of the first epoch's loss above its best (epoch " + std::to_string(best_at) +
                        ") by epoch " + std::to_string(rise_at) + " (threshold " +
                        dd::percent(diagnosis::loss_rise) + ")");
        score = std::max(score, worst_rise / diagnosis::loss_rise);
    }
    // Oscillation: large turns of direction.
    std::size_t reversals = 0;
    for (std::size_t t = 2; t < l.size(); ++t) {
        const double a = l[t - 1].value - l[t - 2].value, b = l[t].value - l[t - 1].value;
        if (a * b < 0 && std::abs(a) > diagnosis::oscillation_step * scale &&
            std::abs(b) > diagnosis::oscillation_step * scale)
            ++reversals;
    }
    if (reversals >= diagnosis::oscillation_reversals) {
        signs.push_back("it turned around " + std::to_string(reversals) + " times with steps over " +
                        dd::percent(diagnosis::oscillation_step) +
                        " of the first epoch's loss (oscillation)");
        score = std::max(
            score, static_cast<double>(reversals) / static_cast<double>(diagnosis::oscillation_reversals));
    }
    // One optimizer step rewriting the weights.
    std::vector<double> ratios;
    for (const auto& e : r.extra->diagnostics)
        if (const double m = e.median_kernel_update_ratio(); std::isfinite(m)) ratios.push_back(m);
    if (!ratios.empty() && median(ratios) > diagnosis::update_ratio_high) {
        signs.push_back("one optimizer step changes the kernels by " + dd::number(median(ratios), 2) +
                        " of their norm (median over epochs; threshold " +
                        dd::number(diagnosis::update_ratio_high) + ")");
        score = std::max(score, median(ratios) / diagnosis::update_ratio_high);
    }
    if (std::isfinite(r.chance_loss)) {
        // The first epoch far above a uniform guess: the outputs blew up.
        if (l[0].epoch == 1 && l[0].value >= diagnosis::blowup_chance_factor * r.chance_loss) {
            signs.push_back("epoch 1's mean loss " + dd::number(l[0].value) + " is " +
                            dd::number(l[0].value / r.chance_loss, 2) + " times a uniform guess's log(" +
                            std::to_string(r.classes) + ") = " + dd::number(r.chance_loss) + " (threshold " +
                            dd::number(diagnosis::blowup_chance_factor) + "x)");
            score = std::max(score, l[0].value / (diagnosis::blowup_chance_factor * r.chance_loss));
        }
        // Never better than a uniform guess after the first epoch, without a
        // steady descent (a steady one is a rate too low).
        double best_after_first = std::numeric_limits<double>::infinity();
        for (std::size_t t = 1; t < l.size(); ++t) best_after_first = std::min(best_after_first, l[t].value);
        const auto d = relative_decreases(l);
        const auto falling =
            static_cast<double>(std::count_if(d.begin(), d.end(), [](double v) { return v > 0; }));
        const bool steady = falling >= diagnosis::steady_fraction * static_cast<double>(d.size());
        if (best_after_first >= r.chance_loss && !steady) {
            signs.push_back("after epoch 1 the loss never got below a uniform guess's " +
                            dd::number(r.chance_loss) + " (best " + dd::number(best_after_first) +
                            "), and it is not descending steadily");
            score = std::max(score, 1.0 + (best_after_first - r.chance_loss) / r.chance_loss);
        }
    }
    if (signs.empty()) return std::nullopt;
    finding f{.kind = finding_kind::learning_rate_too_high, .level = severity::warning, .score = score};
    f.summary = "the learning rate looks too high: the training loss does not descend smoothly";
    f.evidence = dd::listing(signs, signs.size()) + "; training loss " + values_text(l);
    if (std::isfinite(r.peak_lr)) f.evidence += "; learning rate " + dd::number(r.peak_lr);
    f.evidence += update_ratio_text(r);
    f.advice =
        rate_advice(r, 0.1, "a tenth of") +
        "; or warm up and decay it (st::schedule::cosine_decay{.decay_steps = ..., .warmup_steps = ...}); "
        "clip gradients (.clip = {.global_norm = 1.0})";
    return f;
}

inline std::optional<finding> rate_too_low(const run& r) {
    const curve& l = r.loss;
    if (l.size() < 3) return std::nullopt;
    const auto d = relative_decreases(l);
    const double pace = median(d);
    if (!(pace > 0 && pace < diagnosis::slow_decrease)) return std::nullopt;
    const auto falling =
        static_cast<double>(std::count_if(d.begin(), d.end(), [](double v) { return v > 0; }));
    if (falling < diagnosis::steady_fraction * static_cast<double>(d.size())) return std::nullopt;
    // Not bending into a plateau: the second half falls about as fast as the first.
    const std::size_t half = d.size() / 2;
    const std::vector<double> early(d.begin(),
                                    d.begin() + static_cast<std::ptrdiff_t>(std::max<std::size_t>(half, 1)));
    const std::vector<double> late(d.begin() + static_cast<std::ptrdiff_t>(half), d.end());
    const auto mean = [](const std::vector<double>& v) {
        double s = 0;
        for (double x : v) s += x;
        return s / static_cast<double>(v.size());
    };
    if (mean(late) < diagnosis::steady_pace * mean(early)) return std::nullopt;
    const double end = l.back().value;
    std::string level_text;
    if (std::isfinite(r.chance_loss)) {
        if (end < diagnosis::unconverged_chance_fraction * r.chance_loss) return std::nullopt;
        level_text = "the loss " + dd::number(end) + " is still " + dd::percent(end / r.chance_loss) +
                     " of a uniform guess's log(" + std::to_string(r.classes) +
                     ") = " + dd::number(r.chance_loss) + " (not converged from " +
                     dd::percent(diagnosis::unconverged_chance_fraction) + ")";
    } else {
        const double fell = (l.front().value - end) / std::abs(l.front().value);
        if (fell > diagnosis::unconverged_total_decrease) return std::nullopt;
        level_text = "the loss fell only " + dd::percent(fell) + " over the run (not converged below " +
                     dd::percent(diagnosis::unconverged_total_decrease) + ")";
    }
    finding f{.kind = finding_kind::learning_rate_too_low, .level = severity::warning};
    f.score = diagnosis::slow_decrease / std::max(pace, diagnosis::slow_decrease / 10);
    f.summary =
        "the learning rate looks too low: the loss falls steadily but slowly and is far from converged";
    f.evidence = "the training loss falls " + dd::percent(pace) + " per epoch (median; slow below " +
                 dd::percent(diagnosis::slow_decrease) + "), on " +
                 std::to_string(static_cast<std::size_t>(falling)) + " of " + std::to_string(d.size()) +
                 " epochs, without flattening; " + level_text + "; training loss " + values_text(l);
    if (!r.accuracy.empty()) f.evidence += "; training accuracy " + dd::number(r.accuracy.back().value);
    if (std::isfinite(r.peak_lr)) f.evidence += "; learning rate " + dd::number(r.peak_lr);
    f.evidence += update_ratio_text(r);
    f.advice = rate_advice(r, 10, "ten times") +
               " and watch the first epochs: the loss should fall fast and smoothly; st::optim::adam adapts "
               "better than plain SGD to badly scaled rates";
    return f;
}

inline std::optional<finding> underfitting(const run& r) {
    const curve& a = r.accuracy;
    if (a.size() < diagnosis::tail_epochs || r.loss.size() < 2) return std::nullopt;
    const double acc = tail_median(a, diagnosis::tail_epochs);
    const double skill = (acc - r.chance_accuracy) / (1 - r.chance_accuracy);
    if (skill >= diagnosis::underfit_skill) return std::nullopt;
    const auto d = relative_decreases(r.loss);
    const double recent = median(last(d, diagnosis::tail_epochs));
    if (recent >= diagnosis::plateau_decrease) return std::nullopt;  // still learning: not a plateau yet
    double gap = std::numeric_limits<double>::quiet_NaN();
    if (!r.val_accuracy.empty()) {
        gap = acc - tail_median(r.val_accuracy, diagnosis::tail_epochs);
        if (gap > diagnosis::underfit_gap) return std::nullopt;  // a gap: overfitting's territory
    }
    const double bar = r.chance_accuracy + diagnosis::underfit_skill * (1 - r.chance_accuracy);
    finding f{.kind = finding_kind::underfitting, .level = severity::warning};
    f.score = diagnosis::underfit_skill / std::max(skill, 0.05);
    f.summary = "the model underfits: training accuracy is low and has stopped improving";
    f.evidence = "training accuracy " + dd::number(acc) + " over the last " +
                 std::to_string(diagnosis::tail_epochs) + " epochs (median), below " + dd::number(bar) +
                 " = " + dd::percent(diagnosis::underfit_skill) + " of the way from chance (" +
                 dd::number(r.chance_accuracy) + ") to 1; the loss falls " +
                 dd::percent(std::max(recent, 0.0)) + " per epoch (a plateau below " +
                 dd::percent(diagnosis::plateau_decrease) + "); training loss " + values_text(r.loss);
    if (std::isfinite(gap))
        f.evidence +=
            "; validation accuracy " + dd::number(acc - gap) +
            (gap < -diagnosis::underfit_gap
                 ? ", above training: strong regularisation or noisy training labels hold the fit back"
                 : ", close to training: the model is not memorising");
    f.advice =
        "give the network more capacity: wider layers (st::conv2d<64, 3, st::relu> instead of 16 or 32 "
        "filters, st::dense<128, st::relu>), another convolution block (conv2d + st::max_pool<2>); "
        "less regularisation (lower dropout rate or weight_penalty); then a higher learning rate (" +
        rate_advice(r, 3, "three times") + ") or more epochs";
    return f;
}

// Validation clearly above training with training accuracy low: noisy
// training labels. The evidence, or nothing.
inline std::optional<std::pair<std::string, double>> label_noise_sign(const run& r) {
    if (r.accuracy.size() < 2 || r.val_accuracy.size() < 2) return std::nullopt;
    const double acc = tail_median(r.accuracy, diagnosis::tail_epochs);
    const double val = tail_median(r.val_accuracy, diagnosis::tail_epochs);
    const double skill = (acc - r.chance_accuracy) / (1 - r.chance_accuracy);
    if (val - acc < diagnosis::label_noise_gap || skill >= diagnosis::underfit_skill) return std::nullopt;
    return std::pair{"validation accuracy " + dd::number(val) + " is " + dd::number(val - acc, 2) +
                         " above training accuracy " + dd::number(acc) + " (median of the last " +
                         std::to_string(diagnosis::tail_epochs) + " epochs; a sign from " +
                         dd::number(diagnosis::label_noise_gap) +
                         "): the training labels look partly wrong, the validation labels right",
                     (val - acc) / diagnosis::label_noise_gap};
}

inline finding label_noise(const std::pair<std::string, double>& sign) {
    finding f{.kind = finding_kind::likely_mislabelled, .level = severity::warning, .score = sign.second};
    f.summary =
        "the training labels look noisy: the model does better on validation data than on its own "
        "training data";
    f.evidence = sign.first;
    f.advice =
        "list the suspects: likely_mislabelled(per_sample_losses(net, train, loss), 50, classes) after "
        "a few epochs, then relabel or drop them; do not add capacity, which would memorise the wrong "
        "labels";
    return f;
}

inline std::optional<finding> too_few_epochs(const run& r) {
    const history& h = *r.h;
    if (h.cause != stop_cause::none || h.stopped_early())
        return std::nullopt;  // stopped early: epochs were not short
    const curve& v = r.val_loss;
    if (v.size() < 2) return std::nullopt;
    const auto [slope, level] = tail_slope(v, diagnosis::improvement_window);
    const double rate = -slope / std::abs(level);
    if (rate < diagnosis::still_improving_info) return std::nullopt;
    if (!(v.back().value < v[v.size() - 2].value)) return std::nullopt;  // the last epoch did not improve
    finding f{.kind = finding_kind::too_few_epochs};
    f.level = rate >= diagnosis::still_improving_warning ? severity::warning : severity::info;
    f.score = rate / diagnosis::still_improving_warning;
    f.summary = "training ended while the validation loss was still falling";
    f.evidence = "over the last " + std::to_string(std::min(diagnosis::improvement_window, v.size())) +
                 " epochs the validation loss falls " + dd::percent(rate) +
                 " per epoch (fitted slope; a note from " + dd::percent(diagnosis::still_improving_info) +
                 ", a warning from " + dd::percent(diagnosis::still_improving_warning) +
                 "); validation loss " + values_text(v);
    f.advice = "train for more epochs (e.g. st::epochs{" +
               std::to_string(std::max<std::size_t>(2 * h.epochs.size(), 10)) +
               "}) and let st::early_stopping{.monitor = st::metric::val_loss, .patience = 3, "
               ".restore_best_weights = true} decide when to stop";
    // Still far from converged: a higher rate would get there in fewer epochs.
    if (std::isfinite(r.chance_loss) && !r.loss.empty() &&
        r.loss.back().value >= diagnosis::unconverged_chance_fraction * r.chance_loss) {
        f.evidence += "; the training loss " + dd::number(r.loss.back().value) + " is still " +
                      dd::percent(r.loss.back().value / r.chance_loss) + " of a uniform guess's";
        f.advice += "; the loss is still far from converged, so also try a higher rate: " +
                    rate_advice(r, 3, "three times");
    }
    return f;
}

inline std::optional<finding> overfitting(const run& r) {
    const curve& v = r.val_loss;
    std::vector<std::string> signs;
    severity level = severity::info;
    double score = 0;
    std::size_t best_epoch = 0;
    if (v.size() >= diagnosis::overfit_min_epochs) {
        std::size_t k = 0;
        for (std::size_t t = 1; t < v.size(); ++t)
            if (v[t].value < v[k].value) k = t;
        if (k + 1 < v.size()) {
            // The lower of the last two epochs after the minimum: a single bad epoch is not a trend.
            const double end =
                k + 2 < v.size() ? std::min(v.back().value, v[v.size() - 2].value) : v.back().value;
            const double rise = (end - v[k].value) / std::abs(v[k].value);
            const point* train_at_k = at_epoch(r.loss, v[k].epoch);
            const bool train_falls =
                train_at_k && !r.loss.empty() &&
                r.loss.back().value <= train_at_k->value * (1 - diagnosis::overfit_train_fall);
            if (rise >= diagnosis::overfit_rise_info && train_falls) {
                best_epoch = v[k].epoch;
                signs.push_back("the validation loss rose " + dd::percent(rise) + " from its minimum " +
                                dd::number(v[k].value) + " at epoch " + std::to_string(v[k].epoch) + " to " +
                                dd::number(end) + " while the training loss fell from " +
                                dd::number(train_at_k->value) + " to " + dd::number(r.loss.back().value) +
                                " (a warning from a " + dd::percent(diagnosis::overfit_rise_warning) +
                                " rise)");
                if (rise >= diagnosis::overfit_rise_warning) level = severity::warning;
                score = std::max(score, rise / diagnosis::overfit_rise_warning);
            }
        }
    }
    if (r.accuracy.size() >= 2 && r.val_accuracy.size() >= 2) {
        const double train = (r.accuracy.back().value + r.accuracy[r.accuracy.size() - 2].value) / 2;
        const double val =
            (r.val_accuracy.back().value + r.val_accuracy[r.val_accuracy.size() - 2].value) / 2;
        const double gap = train - val;
        if (gap >= diagnosis::overfit_gap_info) {
            signs.push_back("training accuracy " + dd::number(train) + " against validation " +
                            dd::number(val) + " over the last 2 epochs: a gap of " + dd::number(gap, 2) +
                            " (a warning from " + dd::number(diagnosis::overfit_gap_warning) + ")");
            if (gap >= diagnosis::overfit_gap_warning) level = severity::warning;
            score = std::max(score, gap / diagnosis::overfit_gap_warning);
        }
    }
    if (signs.empty()) return std::nullopt;
    finding f{.kind = finding_kind::overfitting, .level = level, .score = score};
    f.summary = "the model overfits: it keeps improving on the training data but not on new data";
    f.evidence = dd::listing(signs, signs.size()) + "; validation loss " + values_text(v);
    if (r.h->best_epoch > 0 && r.h->stopped_early())
        f.evidence += "; early stopping ended the run (best epoch " + std::to_string(r.h->best_epoch) + ")";
    if (r.h->best_epoch == 0)
        f.advice = "stop at the best epoch" +
                   (best_epoch > 0 ? " (" + std::to_string(best_epoch) + " here)" : std::string()) +
                   ": st::early_stopping{.monitor = st::metric::val_loss, .patience = 3, "
                   ".restore_best_weights = true}; ";
    f.advice +=
        "regularise: st::dropout<0.3> after the dense layers, st::weight_penalty{st::regularize::l2{1e-4}} "
        "(or st::kernel_regularizer<st::regularize::l2> on a layer), augmentation "
        "(st::augment::pipeline{st::augment::random_shift{0.1}, st::augment::horizontal_flip{}}); "
        "more training data; a smaller network";
    return f;
}

inline std::optional<finding> class_imbalance(const run& r) {
    const diagnose_inputs& x = *r.extra;
    std::vector<std::string> signs;
    severity level = severity::info;
    double score = 0;
    double ratio = 0;
    std::size_t rare = 0;
    bool recall_suffers = false;
    const auto& counts = x.train_class_counts;
    if (counts.size() >= 2) {
        const auto lo = std::min_element(counts.begin(), counts.end());
        const auto hi = std::max_element(counts.begin(), counts.end());
        rare = static_cast<std::size_t>(lo - counts.begin());
        if (*lo == 0) {
            finding f{.kind = finding_kind::class_imbalance, .level = severity::error, .score = 10};
            f.summary =
                "class " + std::to_string(rare) + " has no training samples: the model cannot learn it";
            f.evidence = "training class counts: " + [&] {
                std::vector<std::string> c;
                for (auto n : counts) c.push_back(std::to_string(n));
                return dd::listing(c, c.size());
            }();
            f.advice = "add samples of that class, or drop it from the outputs";
            return f;
        }
        ratio = static_cast<double>(*hi) / static_cast<double>(*lo);
        if (ratio >= diagnosis::imbalance_ratio_info) {
            signs.push_back("training classes range from " + std::to_string(*lo) + " (class " +
                            std::to_string(rare) + ") to " + std::to_string(*hi) + " samples (class " +
                            std::to_string(static_cast<std::size_t>(hi - counts.begin())) + "), a ratio of " +
                            dd::number(ratio) + " (a note from " +
                            dd::number(diagnosis::imbalance_ratio_info) + ", a warning from " +
                            dd::number(diagnosis::imbalance_ratio_warning) + ")");
            if (ratio >= diagnosis::imbalance_ratio_warning) level = severity::warning;
            score = std::max(score, ratio / diagnosis::imbalance_ratio_warning);
        }
    }
    if (x.validation_confusion && x.validation_confusion->classes() >= 2) {
        const auto& m = *x.validation_confusion;
        double sum = 0;
        std::size_t judged = 0, worst = 0;
        double worst_recall = 2;
        for (std::size_t c = 0; c < m.classes(); ++c) {
            if (m.support(c) < diagnosis::min_class_support) continue;
            const double rc = m.recall(c);
            sum += rc;
            ++judged;
            if (rc < worst_recall) {
                worst_recall = rc;
                worst = c;
            }
        }
        if (judged >= 2 && sum > 0) {
            const double mean = sum / static_cast<double>(judged);
            const double rel = worst_recall / mean;
            // Low recall from imbalance shows as a class the model rarely predicts.
            const double predicted = static_cast<double>(m.predicted_count(worst)) /
                                     static_cast<double>(std::max<std::size_t>(m.support(worst), 1));
            // A rare class: below the median count in skewed counts, or, without
            // counts, one the model seldom predicts.
            bool minority = predicted < diagnosis::rarely_predicted;
            if (counts.size() == m.classes()) {
                std::vector<double> sorted(counts.begin(), counts.end());
                minority = ratio >= diagnosis::imbalance_ratio_info &&
                           static_cast<double>(counts[worst]) < median(sorted);
            }
            if (rel < diagnosis::recall_ratio_warning && minority) {
                signs.push_back(
                    "validation recall of class " + std::to_string(worst) + " is " +
                    dd::number(worst_recall) + ", " + dd::percent(rel) + " of the mean per-class recall " +
                    dd::number(mean) + " (a warning below " + dd::percent(diagnosis::recall_ratio_warning) +
                    "); the model predicts it for " + dd::percent(predicted) + " as many samples as it has" +
                    (counts.size() == m.classes()
                         ? ", and it has " + std::to_string(counts[worst]) + " training samples"
                         : " (without the training class counts, a class left this far behind and seldom "
                           "predicted is taken as a rare one)"));
                level = severity::warning;
                recall_suffers = true;
                score = std::max(score, (1 - rel) / (1 - diagnosis::recall_ratio_warning));
            }
        }
    }
    if (signs.empty()) return std::nullopt;
    const std::string classes = r.classes ? std::to_string(r.classes) : "classes";
    finding f{.kind = finding_kind::class_imbalance, .level = level, .score = score};
    f.summary = recall_suffers ? "the classes are imbalanced and the rare ones are recognised less often"
                               : "the training classes are imbalanced";
    f.evidence = dd::listing(signs, signs.size());
    f.advice = "weigh the loss by class: pass st::class_weights::balanced(train, " + classes +
               ") to fit; or draw balanced batches with st::class_balanced_sampling{" + classes +
               "}; or resample: st::data::random_oversample(train, " + classes +
               ", seed); judge the fit by per-class recall and macro F1 (st::metrics), not accuracy";
    return f;
}

// Layers with dead ReLU units (or saturated sigmoid/tanh outputs) at the
// last probed epoch, worst first.
struct unit_problem {
    std::string layer;
    double fraction = 0;
    std::size_t dead = 0, units = 0, since = 0;  // since: first epoch at the info level
};

inline std::vector<unit_problem> unit_problems(const run& r, bool dead_units) {
    const auto& records = r.extra->diagnostics;
    const epoch_diagnostics* last = nullptr;
    for (const auto& e : records)
        if (!e.layers.empty()) last = &e;
    std::vector<unit_problem> out;
    if (!last) return out;
    const double info = dead_units ? diagnosis::dead_fraction_info : diagnosis::saturated_fraction_info;
    for (const auto& l : last->layers) {
        const double fraction = dead_units ? l.dead_fraction() : l.saturated;
        if (!(fraction >= info) || (dead_units != (l.activation == "relu"))) continue;
        unit_problem p{l.name, fraction, l.dead, l.units, last->epoch};
        for (const auto& e : records)
            for (const auto& m : e.layers)
                if (m.name == l.name && (dead_units ? m.dead_fraction() : m.saturated) >= info) {
                    p.since = std::min(p.since, e.epoch);
                    break;
                }
        out.push_back(std::move(p));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const unit_problem& a, const unit_problem& b) { return a.fraction > b.fraction; });
    return out;
}

// The worst dead layer was alive before the first step: training killed it.
inline bool units_killed_in_training(const run& r) {
    const auto layers = unit_problems(r, true);
    return !layers.empty() && layers.front().since > 0;
}

inline std::optional<finding> dead_units(const run& r) {
    const auto layers = unit_problems(r, true);
    if (layers.empty()) return std::nullopt;
    const auto& worst = layers.front();
    finding f{.kind = finding_kind::dead_units};
    f.level = worst.dead == worst.units                            ? severity::error
              : worst.fraction >= diagnosis::dead_fraction_warning ? severity::warning
                                                                   : severity::info;
    f.score = worst.fraction / diagnosis::dead_fraction_warning;
    f.summary = worst.dead == worst.units
                    ? "every ReLU unit of " + worst.layer + " is dead: no signal passes through it"
                    : "ReLU units are dead: they output 0 for every probe sample and no longer learn";
    std::vector<std::string> shown;
    for (const auto& l : layers)
        shown.push_back(
            l.layer + ": " + std::to_string(l.dead) + " of " + std::to_string(l.units) + " (" +
            dd::percent(l.fraction) + ") " +
            (l.since == 0 ? std::string("from the start") : "since epoch " + std::to_string(l.since)));
    std::size_t probe = 0;
    for (const auto& e : r.extra->diagnostics) probe = std::max(probe, e.probe_samples);
    f.evidence = "units that output 0 for all " + std::to_string(probe) +
                 " probe samples at the last epoch: " + dd::listing(shown, shown.size()) + " (a note from " +
                 dd::percent(diagnosis::dead_fraction_info) + " of a layer, a warning from " +
                 dd::percent(diagnosis::dead_fraction_warning) + ", an error for a whole layer)";
    if (!r.loss.empty()) f.evidence += "; training loss " + values_text(r.loss);
    f.advice =
        worst.since == 0
            ? "a unit dies when its weighted input is negative for every sample, and these were dead "
              "before the first step: initialise " +
                  worst.layer +
                  " for ReLU (st::init::he_normal, e.g. st::dense<128, st::relu, st::init::he_normal>) "
                  "instead of a custom st::init, with zero biases; or use st::leaky_relu, whose gradient "
                  "is never 0, or st::batch_norm before the activation"
            : "these units were alive at the start and died during training, which large steps do: " +
                  rate_advice(r, 0.1, "a tenth of") +
                  "; or use st::leaky_relu, whose gradient is never 0, or st::batch_norm before the "
                  "activation";
    return f;
}

inline std::optional<finding> saturated_units(const run& r) {
    const auto layers = unit_problems(r, false);
    if (layers.empty()) return std::nullopt;
    const auto& worst = layers.front();
    finding f{
        .kind = finding_kind::saturated_units,
        .level = worst.fraction >= diagnosis::saturated_fraction_warning ? severity::warning : severity::info,
        .score = worst.fraction / diagnosis::saturated_fraction_warning};
    f.summary = "sigmoid or tanh outputs are saturated: they sit at an asymptote where the gradient vanishes";
    std::vector<std::string> shown;
    for (const auto& l : layers)
        shown.push_back(
            l.layer + ": " + dd::percent(l.fraction) + " of its outputs " +
            (l.since == 0 ? std::string("from the start") : "since epoch " + std::to_string(l.since)));
    f.evidence = "outputs within " + dd::number(saturation_margin) +
                 " of an asymptote at the last epoch: " + dd::listing(shown, shown.size()) +
                 " (a note from " + dd::percent(diagnosis::saturated_fraction_info) + ", a warning from " +
                 dd::percent(diagnosis::saturated_fraction_warning) + ")";
    f.advice =
        "use st::relu in hidden layers (keep sigmoid for a binary output); scale the inputs to about "
        "[0, 1] or [-1, 1]; add st::batch_norm before " +
        worst.layer + "'s activation; " + rate_advice(r, 0.3, "a third of");
    return f;
}

// First over last kernel of ||gradient|| / ||w||, median over the epochs,
// and the growth of the total gradient norm from the first probed epoch to the last.
inline std::optional<finding> gradient_flow(const run& r) {
    std::vector<double> ratios;
    std::string first_name, last_name;
    std::vector<std::pair<std::size_t, double>> totals;
    for (const auto& e : r.extra->diagnostics) {
        const tensor_diagnostics *first = nullptr, *last = nullptr;
        double total = 0;
        bool measured = false;
        for (const auto& t : e.tensors) {
            if (std::isfinite(t.gradient_norm)) {
                total += t.gradient_norm * t.gradient_norm;
                measured = true;
            }
            if (!t.kernel || !(t.relative_gradient() > 0)) continue;
            if (!first) first = &t;
            last = &t;
        }
        if (measured) totals.emplace_back(e.epoch, std::sqrt(total));
        if (first && last && first != last) {
            ratios.push_back(first->relative_gradient() / last->relative_gradient());
            first_name = first->name;
            last_name = last->name;
        }
    }
    std::vector<std::string> signs;
    double score = 0;
    bool vanishing = false;
    if (!ratios.empty()) {
        const double m = median(ratios);
        const std::string text = "one step's ||gradient|| / ||weights|| of the first kernel (" + first_name +
                                 ") is " + dd::number(m, 2) + " times the last kernel's (" + last_name +
                                 "), median over " + std::to_string(ratios.size()) + " epochs";
        if (m < diagnosis::gradient_ratio_vanishing) {
            vanishing = true;
            signs.push_back(text + " (vanishing below " + dd::number(diagnosis::gradient_ratio_vanishing) +
                            ")");
            score = diagnosis::gradient_ratio_vanishing / m;
        } else if (m > diagnosis::gradient_ratio_exploding) {
            signs.push_back(text + " (exploding above " + dd::number(diagnosis::gradient_ratio_exploding) +
                            ")");
            score = m / diagnosis::gradient_ratio_exploding;
        }
    }
    if (!vanishing && totals.size() >= 2 && totals.front().second > 0) {
        const double growth = totals.back().second / totals.front().second;
        if (growth >= diagnosis::gradient_growth_exploding) {
            signs.push_back("the gradient norm grew " + dd::number(growth, 3) + "-fold from epoch " +
                            std::to_string(totals.front().first) + " (" + dd::number(totals.front().second) +
                            ") to epoch " + std::to_string(totals.back().first) + " (" +
                            dd::number(totals.back().second) + "; exploding from " +
                            dd::number(diagnosis::gradient_growth_exploding) + "-fold)");
            score = std::max(score, growth / diagnosis::gradient_growth_exploding);
        }
    }
    if (signs.empty()) return std::nullopt;
    finding f{.kind = vanishing ? finding_kind::vanishing_gradients : finding_kind::exploding_gradients,
              .level = severity::warning,
              .score = score};
    f.summary = vanishing ? "the gradients vanish on their way back: the first layers barely train"
                          : "the gradients explode: steps grow until they throw the weights around";
    f.evidence = dd::listing(signs, signs.size());
    f.advice = vanishing ? "use st::relu instead of sigmoid or tanh in hidden layers, the default He "
                           "initialisation, st::batch_norm after convolutions, or residual blocks "
                           "(st::residual) for deep networks"
                         : "clip gradients (.clip = {.global_norm = 1.0} in the optimizer); " +
                               rate_advice(r, 0.1, "a tenth of") + "; add st::batch_norm after convolutions";
    return f;
}

// Per-pixel scores from a dense layer on a flattened vector: one weight per
// (feature, pixel, class), and no notion of which pixels neighbour which. An
// image model without any convolution is a milder case of the same.
inline std::optional<finding> unsuited_architecture(const run& r) {
    if (!r.extra->architecture) return std::nullopt;
    const architecture_facts& a = *r.extra->architecture;
    const auto share = [&](std::size_t p) {
        return dd::percent(static_cast<double>(p) /
                           static_cast<double>(std::max<std::size_t>(a.parameters, 1)));
    };
    if (a.per_pixel_loss && a.output_from_dense) {
        finding f{.kind = finding_kind::unsuited_architecture,
                  .level = severity::warning,
                  .score = diagnosis::structural_score};
        f.summary = "a dense layer predicts the per-pixel scores: the network cannot use where pixels are";
        f.evidence = "the loss scores " + std::to_string(a.output_height) + " x " +
                     std::to_string(a.output_width) + " x " + std::to_string(a.output_channels) +
                     " values per image, and they come from " + a.output_layer + ", a dense layer with " +
                     std::to_string(a.output_layer_parameters) + " of the network's " +
                     std::to_string(a.parameters) + " parameters (" + share(a.output_layer_parameters) +
                     "): it learns every pixel's classes separately from a flattened vector";
        if (!r.val_loss.empty() && !r.loss.empty())
            f.evidence += "; final training loss " + dd::number(r.loss.back().value) + ", validation loss " +
                          dd::number(r.val_loss.back().value);
        f.advice =
            "use a fully convolutional network that keeps the image's layout: convolutions at the input's "
            "resolution, st::max_pool down and st::upsample back up with st::skip_concat to the encoder (a "
            "U-Net, as in examples/segmentation), and st::conv2d<" +
            std::to_string(a.output_channels) + ", 1> for the per-pixel scores";
        return f;
    }
    if (a.image_input && a.convolutions == 0 && !a.per_pixel_loss) {
        finding f{.kind = finding_kind::unsuited_architecture, .level = severity::info, .score = 1};
        f.summary = "an image model without convolutions: every pixel position is learnt separately";
        f.evidence = "no convolution in the network; " + std::to_string(a.parameters) + " parameters, " +
                     a.output_layer + " last";
        f.advice =
            "start with st::conv2d<32, 3, st::relu>, st::max_pool<2> before flattening: convolutions "
            "share weights across positions, need fewer parameters and tolerate shifts";
        return f;
    }
    return std::nullopt;
}

}  // namespace detail::diagnose

// The findings for a training history, most severe first, then by score. A
// healthy run (loss falling, validation following, small gap, converging)
// gives nothing of warning severity or above.
inline std::vector<finding> diagnose(const history& h, const diagnose_inputs& extra = {}) {
    namespace dg = detail::diagnose;
    const dg::run r = dg::read(h, extra);
    std::vector<finding> out;
    const auto add = [&](std::optional<finding> f) {
        if (f) out.push_back(std::move(*f));
        return f.has_value();
    };
    const bool broken = add(dg::non_finite_training(r));
    const bool unstable = !broken && add(dg::rate_too_high(r));
    // Dead or saturated layers hold the fit back: its slowness and low accuracy are their symptoms.
    bool blocked = false;
    for (auto f :
         {dg::unsuited_architecture(r), dg::dead_units(r), dg::saturated_units(r), dg::gradient_flow(r)}) {
        if (!f) continue;
        blocked |= f->level >= severity::warning;
        // Units alive at the start that a too-high rate killed: one finding, the rate's.
        if (unstable && f->kind == finding_kind::dead_units && dg::units_killed_in_training(r)) {
            finding& rate = out.front();  // rate_too_high's, the only one added before
            rate.level = std::max(rate.level, f->level);
            rate.evidence += "; " + f->summary + ": " + f->evidence;
            continue;
        }
        add(std::move(f));
    }
    const bool slow = !broken && !unstable && !blocked && add(dg::rate_too_low(r));
    bool underfit = false;
    const auto noisy_labels = dg::label_noise_sign(r);
    if (!broken && !unstable && !slow) {
        if (!noisy_labels && !blocked) underfit = add(dg::underfitting(r));
        if (!blocked) add(dg::too_few_epochs(r));
    }
    add(dg::overfitting(r));
    add(dg::class_imbalance(r));
    if (extra.audit)
        for (auto& f : findings_of(*extra.audit)) out.push_back(std::move(f));
    std::vector<finding> mislabelled =
        extra.mislabelled ? findings_of(*extra.mislabelled) : std::vector<finding>{};
    if (noisy_labels && !broken && !unstable && !slow) {
        if (mislabelled.empty()) {
            mislabelled.push_back(dg::label_noise(*noisy_labels));
        } else {  // one finding with both signs
            finding& f = mislabelled.front();
            f.evidence += "; " + noisy_labels->first;
            f.level = severity::warning;
            f.score = std::max(f.score, noisy_labels->second);
        }
    }
    // A model that underfits finds many correct labels unbelievable too: its high losses are a note.
    if (underfit)
        for (auto& f : mislabelled) {
            f.level = severity::info;
            f.evidence += "; the model underfits, so high losses say as much about the model as the labels";
        }
    for (auto& f : mislabelled) out.push_back(std::move(f));
    sort_findings(out);
    return out;
}

}  // namespace strata
