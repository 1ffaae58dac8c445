// Training, diagnosing and illustrating one classifier of the diagnose
// example; each network's translation unit instantiates train_classifier
// for its network.
#pragma once

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "scenario.hpp"

namespace diagnose_example {

// The report's parts every scenario fills the same way.
inline void start_report(outcome& o, const job& j, std::string network_summary,
                         std::string confusion_caption) {
    auto& r = o.report;
    r.title = "strata diagnose: " + j.scenario;
    r.network_summary = std::move(network_summary);
    r.training = o.history;
    r.confusion = o.validation.confusion;
    r.class_names = j.class_names;
    r.confusion_caption = std::move(confusion_caption);
}

inline std::size_t steps_of(const plan& p, std::size_t samples) {
    return p.epochs * ((samples + p.batch - 1) / p.batch);
}

inline std::string fixed(double v, int digits = 3) {
    if (!std::isfinite(v)) return "nan";
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}

// "train acc 0.91, val acc 0.88, val loss 0.31 (min 0.29 at epoch 6)".
inline std::string key_numbers(const st::history& h) {
    if (h.epochs.empty()) return "no epoch finished";
    const auto& last = h.epochs.back();
    std::size_t best = 0;
    for (std::size_t e = 0; e < h.epochs.size(); ++e)
        if (h.epochs[e].val_loss < h.epochs[best].val_loss) best = e;
    std::string s = "loss " + fixed(h.epochs.front().loss) + " -> " + fixed(last.loss);
    if (std::isfinite(last.accuracy)) s += ", train acc " + fixed(last.accuracy);
    if (std::isfinite(last.val_accuracy)) s += ", val acc " + fixed(last.val_accuracy);
    if (std::isfinite(last.val_loss))
        s += ", val loss " + fixed(last.val_loss) + " (min " + fixed(h.epochs[best].val_loss) + " at epoch " +
             std::to_string(h.epochs[best].epoch) + ")";
    return s;
}

inline st::report::image picture(const st::data::dataset<float>& d, std::size_t i, std::string caption) {
    const auto& s = d.x.shape();
    const std::size_t size = d.sample_size();
    return st::report::to_image(std::span<const float>(d.x.data() + i * size, size), s[1], s[2], s[3],
                                std::move(caption), st::report::value_range{0, 1});
}

// The report's pictures of a classifier: its most confidently wrong
// validation images and, when ranked, the training samples it finds least
// believable.
inline void add_classifier_images(st::report::content& r, const job& j, const xt::xtensor<float, 2>& logits,
                                  const std::optional<st::mislabel_candidates>& suspects) {
    const st::metrics::predictions<float> p{
        std::span<const float>(logits.data(), logits.size()),
        std::span<const float>(j.validation.y.data(), j.validation.y.size()), j.validation.size(),
        logits.shape()[1], 1};
    st::report::image_group wrong{"Most confidently wrong validation images", {}};
    for (const auto& w : st::report::confidently_wrong(p, 12, /*from_logits=*/true))
        wrong.images.push_back(picture(j.validation, w.index,
                                       "#" + std::to_string(w.index) + ": " + j.class_names.at(w.truth) +
                                           ", predicted " + j.class_names.at(w.predicted) + " (" +
                                           fixed(100 * w.confidence, 1) + "%)"));
    r.images.push_back(std::move(wrong));
    if (suspects && !suspects->indices.empty()) {
        st::report::image_group group{
            "Training samples the model finds least believable (likely mislabelled)", {}};
        for (std::size_t k = 0; k < std::min<std::size_t>(12, suspects->indices.size()); ++k) {
            const std::size_t i = suspects->indices[k];
            const auto label = static_cast<std::size_t>(j.train.y(i, 0));
            std::string caption = "train #" + std::to_string(i) + " labelled " + j.class_names.at(label) +
                                  ", loss " + fixed(suspects->losses[k], 2);
            if (!j.corrupted.empty()) caption += j.corrupted[i] ? " (label replaced)" : " (label kept)";
            group.images.push_back(picture(j.train, i, std::move(caption)));
        }
        r.images.push_back(std::move(group));
    }
}

template <class Net>
void add_feature_maps(st::report::content& r, const Net& net, const st::data::dataset<float>& d,
                      const std::string& what) {
    st::report::image_group maps{"Feature maps of " + what, {picture(d, 0, what)}};
    for (auto& m : st::report::feature_maps(net, std::span<const float>(d.x.data(), d.sample_size())))
        maps.images.push_back(std::move(m));
    r.images.push_back(std::move(maps));
}

template <class Net>
std::string summary_of(const Net& net) {
    std::ostringstream summary;
    summary << st::summary(net);
    return summary.str();
}

// What every scenario's run shares: the summary line, a fit with Adam on the
// job's schedule with the diagnostics probe (dead units counted on the first
// 256 training samples), and the validation evaluation. `samples` names what
// the data holds; `extra` are more fit options (metrics).
template <class Net, class Loss, class... Extra>
st::diagnostics fit_job(const context& c, const job& j, Net& net, const Loss& loss, outcome& o,
                        const char* samples, const Extra&... extra) {
    const auto& opt = c.opt;
    o.parameters = Net::param_count;
    c.human << summary_of(net) << "training on " << j.train.size() << " " << samples << " for " << j.p.epochs
            << " epochs (Adam, lr " << j.p.lr << "), validating on " << j.validation.size() << "\n";
    st::diagnostics probe{.probe_every = 25, .probe_inputs = st::diagnostics::first_samples(j.train, 256)};
    o.history = st::fit(
        net, j.train, loss, st::optim::adam{.lr = static_cast<float>(j.p.lr)},
        st::schedule::cosine_decay{.decay_steps = std::max<std::size_t>(1, steps_of(j.p, j.train.size())),
                                   .alpha = j.p.final_lr_fraction},
        st::epochs{j.p.epochs}, st::batch_size{j.p.batch}, st::seed{opt.seed}, st::threads{opt.threads},
        st::validation{j.validation}, extra..., st::progress{c.human}, probe);
    o.validation = st::evaluate(net, j.validation, loss, st::threads{opt.threads});
    return probe;
}

// Trains Net on the job's data with sparse categorical cross-entropy and
// Adam, then diagnoses the run with the diagnostics callback's records, the
// network's structure (architecture_of) and what the job asks for: the
// validation confusion matrix and training class counts, the audit, the
// likely mislabelled samples.
template <class Net>
outcome train_classifier(const context& c, const job& j) {
    const auto& opt = c.opt;
    const std::size_t classes = j.class_names.size();
    Net net{st::seed{opt.seed}};
    outcome o;
    const st::loss::sparse_categorical_crossentropy loss{.from_logits = true};
    const auto probe = fit_job(c, j, net, loss, o, "images");

    st::diagnose_inputs in{.audit = j.audit, .classes = classes};
    if (j.class_evidence || opt.full_evidence) {
        in.validation_confusion = o.validation.confusion;
        in.train_class_counts = st::data::class_counts(j.train, classes);
    }
    in.diagnostics = *probe.records;
    in.architecture = st::architecture_of(net, loss);
    if (j.mislabelled || opt.full_evidence)
        in.mislabelled = st::likely_mislabelled(
            st::per_sample_losses(net, j.train, loss, st::threads{opt.threads}), 50, classes);
    o.findings = st::diagnose(o.history, in);
    o.numbers = key_numbers(o.history) + ", params " + std::to_string(o.parameters);
    if (in.mislabelled) {
        o.numbers += ", " + std::to_string(in.mislabelled->above_threshold) + " of " +
                     std::to_string(in.mislabelled->examined) + " training samples above loss " +
                     fixed(in.mislabelled->threshold, 2);
        if (!j.corrupted.empty()) {
            std::size_t hits = 0;
            for (const std::size_t i : in.mislabelled->indices) hits += j.corrupted[i] ? 1 : 0;
            o.numbers += " (" + std::to_string(hits) + " of the top " +
                         std::to_string(in.mislabelled->indices.size()) + " had their label replaced)";
        }
    }

    auto& r = o.report;
    start_report(o, j, summary_of(net),
                 "Validation set (the first " + std::to_string(j.validation.size()) + " test images)");
    add_classifier_images(r, j, st::predict(net, j.validation.x, st::threads{opt.threads}), in.mislabelled);
    add_feature_maps(r, net, j.validation, "validation image 0");
    return o;
}

}  // namespace diagnose_example
