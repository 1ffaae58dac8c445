// Classification and regression metrics over a whole pass of predictions,
// with sklearn's definitions (tests compare against python3-sklearn to
// 1e-12): the confusion matrix and per-class precision, recall and F1 with
// macro and weighted averages (zero_division=0), top-k accuracy, ROC AUC for
// one sigmoid output, mean absolute and squared error, and
// classification_report in sklearn's layout. The metric policies at the end
// are what fit takes to report a metric per epoch, for training batches and
// validation data.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../data/dataset.hpp"

namespace strata::metrics {

// A pass of network outputs and targets, row by row.
template <class T>
struct predictions {
    std::span<const T> outputs;  // count x width
    std::span<const T> targets;  // count x target_width: class indices (width 1) or one-hot rows
    std::size_t count = 0, width = 0, target_width = 0;
    // One output: the positive class is predicted above this (0.5 for
    // probabilities, 0 for logits).
    double threshold = 0.5;

    std::size_t classes() const noexcept { return width == 1 ? 2 : width; }
    std::size_t label(std::size_t i) const {
        return data::class_index(targets.data() + i * target_width, target_width);
    }
    std::size_t predicted(std::size_t i) const {
        const T* o = outputs.data() + i * width;
        if (width == 1) return static_cast<double>(*o) > threshold ? 1 : 0;
        return static_cast<std::size_t>(std::max_element(o, o + width) -
                                        o);  // first of ties, as numpy's argmax
    }
};

struct averages {
    double precision = 0, recall = 0, f1 = 0;
};

// Rows: true class; columns: predicted class.
class confusion_matrix {
public:
    confusion_matrix() = default;
    explicit confusion_matrix(std::size_t classes) : classes_(classes), counts_(classes * classes, 0) {}

    template <class T>
    static confusion_matrix of(const predictions<T>& p) {
        confusion_matrix m(p.classes());
        m.add(p);
        return m;
    }

    // Every sample of a batch; an empty matrix takes the batch's classes.
    template <class T>
    void add(const predictions<T>& p) {
        if (classes_ == 0) *this = confusion_matrix(p.classes());
        for (std::size_t i = 0; i < p.count; ++i) add(p.label(i), p.predicted(i));
    }

    void add(std::size_t truth, std::size_t predicted, std::size_t count = 1) {
        if (truth >= classes_ || predicted >= classes_)
            throw usage_error("confusion_matrix: class " + std::to_string(std::max(truth, predicted)) +
                              " is outside the matrix's " + std::to_string(classes_) + " classes");
        counts_[truth * classes_ + predicted] += count;
    }

    std::size_t classes() const noexcept { return classes_; }
    std::size_t operator()(std::size_t truth, std::size_t predicted) const {
        return counts_.at(truth * classes_ + predicted);
    }
    std::size_t total() const noexcept {
        return std::accumulate(counts_.begin(), counts_.end(), std::size_t{0});
    }
    std::size_t support(std::size_t c) const {  // samples of class c
        std::size_t s = 0;
        for (std::size_t p = 0; p < classes_; ++p) s += (*this)(c, p);
        return s;
    }
    std::size_t predicted_count(std::size_t c) const {
        std::size_t s = 0;
        for (std::size_t t = 0; t < classes_; ++t) s += (*this)(t, c);
        return s;
    }

    double accuracy() const {
        std::size_t hits = 0;
        for (std::size_t c = 0; c < classes_; ++c) hits += (*this)(c, c);
        return ratio(hits, total());
    }
    double precision(std::size_t c) const { return ratio((*this)(c, c), predicted_count(c)); }
    double recall(std::size_t c) const { return ratio((*this)(c, c), support(c)); }
    double f1(std::size_t c) const {
        // sklearn: 2 tp / (2 tp + fp + fn), 0 when that is 0/0
        const std::size_t tp = (*this)(c, c);
        return ratio(2 * tp, support(c) + predicted_count(c));
    }
    // The unweighted mean over classes.
    averages macro() const {
        averages a;
        for (std::size_t c = 0; c < classes_; ++c) {
            a.precision += precision(c);
            a.recall += recall(c);
            a.f1 += f1(c);
        }
        const double n = static_cast<double>(classes_);
        return {a.precision / n, a.recall / n, a.f1 / n};
    }
    // The mean over classes weighted by their support.
    averages weighted() const {
        averages a;
        const double n = static_cast<double>(total());
        if (n == 0) return a;
        for (std::size_t c = 0; c < classes_; ++c) {
            const double w = static_cast<double>(support(c)) / n;
            a.precision += w * precision(c);
            a.recall += w * recall(c);
            a.f1 += w * f1(c);
        }
        return a;
    }

private:
    static double ratio(std::size_t a, std::size_t b) {
        return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
    }

    std::size_t classes_ = 0;
    std::vector<std::size_t> counts_;
};

// The share of samples whose class is among the k highest scores; among tied
// scores the higher class index ranks first, as sklearn's top_k_accuracy_score.
template <class T>
double top_k_accuracy(const predictions<T>& p, std::size_t k) {
    if (k == 0) throw usage_error("top_k_accuracy: k must be at least 1");
    if (p.width < 2) throw usage_error("top_k_accuracy: needs one output per class");
    std::size_t hits = 0;
    for (std::size_t i = 0; i < p.count; ++i) {
        const T* o = p.outputs.data() + i * p.width;
        const std::size_t truth = p.label(i);
        if (truth >= p.width)
            throw usage_error("top_k_accuracy: sample " + std::to_string(i) + " has no class among the " +
                              std::to_string(p.width) + " outputs");
        std::size_t above = 0;
        for (std::size_t c = 0; c < p.width; ++c) above += o[c] > o[truth] || (o[c] == o[truth] && c > truth);
        hits += above < k;
    }
    return p.count ? static_cast<double>(hits) / static_cast<double>(p.count) : 0.0;
}

// Area under the ROC curve of one score column against 0/1 labels: the
// Mann-Whitney statistic with tied scores counted half, which equals
// sklearn's roc_auc_score.
template <class T>
double roc_auc(const predictions<T>& p) {
    if (p.width != 1) throw usage_error("roc_auc: needs one output (a binary classifier's score)");
    std::vector<std::size_t> order(p.count);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return p.outputs[a] < p.outputs[b]; });
    double positive_rank_sum = 0;
    std::size_t positives = 0;
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j < order.size() && p.outputs[order[j]] == p.outputs[order[i]]) ++j;
        const double rank =
            (static_cast<double>(i) + static_cast<double>(j - 1)) / 2 + 1;  // ties share the mean
        for (std::size_t k = i; k < j; ++k)
            if (p.label(order[k]) == 1) {
                positive_rank_sum += rank;
                ++positives;
            }
        i = j;
    }
    const std::size_t negatives = p.count - positives;
    if (positives == 0 || negatives == 0)
        throw usage_error("roc_auc: needs samples of both classes; got " + std::to_string(positives) +
                          " positive and " + std::to_string(negatives) + " negative");
    const double pos = static_cast<double>(positives);
    return (positive_rank_sum - pos * (pos + 1) / 2) / (pos * static_cast<double>(negatives));
}

// Mean over every output of every sample (sklearn's uniform average).
// Sums of absolute and squared errors over the outputs seen so far.
struct error_sums {
    double absolute = 0, squared = 0;
    std::size_t values = 0;

    template <class T>
    void add(const predictions<T>& p) {
        if (p.width != p.target_width)
            throw usage_error("mean_absolute_error and mean_squared_error: need one target per output");
        for (std::size_t i = 0; i < p.count * p.width; ++i) {
            const double d = static_cast<double>(p.outputs[i]) - static_cast<double>(p.targets[i]);
            absolute += std::abs(d);
            squared += d * d;
        }
        values += p.count * p.width;
    }
    double mean_absolute() const { return values ? absolute / static_cast<double>(values) : 0.0; }
    double mean_squared() const { return values ? squared / static_cast<double>(values) : 0.0; }
};

template <class T>
double mean_absolute_error(const predictions<T>& p) {
    error_sums e;
    e.add(p);
    return e.mean_absolute();
}
template <class T>
double mean_squared_error(const predictions<T>& p) {
    error_sums e;
    e.add(p);
    return e.mean_squared();
}

// sklearn's classification_report text for every class of the matrix (names
// default to the class indices).
inline std::string classification_report(const confusion_matrix& m, std::vector<std::string> names = {},
                                         int digits = 2) {
    if (names.empty())
        for (std::size_t c = 0; c < m.classes(); ++c) names.push_back(std::to_string(c));
    if (names.size() != m.classes())
        throw usage_error("classification_report: " + std::to_string(names.size()) + " names for " +
                          std::to_string(m.classes()) + " classes");
    if (digits < 0 || digits > 15) throw usage_error("classification_report: digits must be in [0, 15]");
    std::size_t width =
        std::max<std::size_t>(std::string("weighted avg").size(), static_cast<std::size_t>(digits));
    for (const auto& n : names) width = std::max(width, n.size());
    const int w = static_cast<int>(width);
    std::string out;
    char line[512];
    auto append = [&](int written) {
        out.append(line, static_cast<std::size_t>(std::min<int>(written, sizeof line - 1)));
    };
    append(std::snprintf(line, sizeof line, "%*s  %9s %9s %9s %9s\n\n", w, "", "precision", "recall",
                         "f1-score", "support"));
    auto row = [&](const std::string& name, double p, double r, double f, std::size_t support) {
        std::string shown = name.substr(0, 400);
        append(std::snprintf(line, sizeof line, "%*s  %9.*f %9.*f %9.*f %9zu\n", w, shown.c_str(), digits, p,
                             digits, r, digits, f, support));
    };
    for (std::size_t c = 0; c < m.classes(); ++c)
        row(names[c], m.precision(c), m.recall(c), m.f1(c), m.support(c));
    out += '\n';
    append(std::snprintf(line, sizeof line, "%*s  %9s %9s %9.*f %9zu\n", w, "accuracy", "", "", digits,
                         m.accuracy(), m.total()));
    const averages macro = m.macro(), weighted = m.weighted();
    row("macro avg", macro.precision, macro.recall, macro.f1, m.total());
    row("weighted avg", weighted.precision, weighted.recall, weighted.f1, m.total());
    return out;
}

// The matrix as an aligned table: a row per true class, a column per
// predicted class (numbered), names down the left.
inline std::string to_string(const confusion_matrix& m, std::vector<std::string> names = {}) {
    if (names.empty())
        for (std::size_t c = 0; c < m.classes(); ++c) names.push_back(std::to_string(c));
    if (names.size() != m.classes())
        throw usage_error("confusion matrix: " + std::to_string(names.size()) + " names for " +
                          std::to_string(m.classes()) + " classes");
    std::size_t name_width = std::string("true \\ predicted").size(), cell = 1;
    for (const auto& n : names) name_width = std::max(name_width, n.size());
    for (std::size_t t = 0; t < m.classes(); ++t)
        for (std::size_t p = 0; p < m.classes(); ++p) cell = std::max(cell, std::to_string(m(t, p)).size());
    cell = std::max(cell, std::to_string(m.classes() - 1).size()) + 1;
    auto pad = [](std::string text, std::size_t width, bool right) {
        if (text.size() < width) text.insert(right ? 0 : text.size(), width - text.size(), ' ');
        return text;
    };
    std::string out = pad("true \\ predicted", name_width, false);
    for (std::size_t p = 0; p < m.classes(); ++p) out += pad(std::to_string(p), cell, true);
    out += '\n';
    for (std::size_t t = 0; t < m.classes(); ++t) {
        out += pad(names[t], name_width, false);
        for (std::size_t p = 0; p < m.classes(); ++p) out += pad(std::to_string(m(t, p)), cell, true);
        out += '\n';
    }
    return out;
}

// Metric policies for fit: each names itself and computes one number from a
// pass of predictions. fit reports them per epoch as name (training batches)
// and val_name (validation data).
struct top_k {
    std::size_t k = 5;
    std::string name() const { return "top_" + std::to_string(k) + "_accuracy"; }
    template <class T>
    double operator()(const predictions<T>& p) const {
        return top_k_accuracy(p, k);
    }
};
enum class average { macro, weighted };

namespace detail {
inline std::string averaged_name(const char* score, average a) {
    return std::string(score) + (a == average::macro ? "_macro" : "_weighted");
}
}  // namespace detail

// The averaged scores keep a confusion matrix over the batches of a pass.
#define STRATA_CONFUSION_SCORE(score)                                               \
    struct score {                                                                  \
        metrics::average average = average::macro;                                  \
        using tally_type = confusion_matrix;                                        \
        std::string name() const { return detail::averaged_name(#score, average); } \
        tally_type start() const { return {}; }                                     \
        template <class T>                                                          \
        void add(tally_type& m, const predictions<T>& p) const {                    \
            m.add(p);                                                               \
        }                                                                           \
        double result(const tally_type& m) const {                                  \
            return (average == average::macro ? m.macro() : m.weighted()).score;    \
        }                                                                           \
        template <class T>                                                          \
        double operator()(const predictions<T>& p) const {                          \
            return result(confusion_matrix::of(p));                                 \
        }                                                                           \
    };
STRATA_CONFUSION_SCORE(precision)
STRATA_CONFUSION_SCORE(recall)
STRATA_CONFUSION_SCORE(f1)
#undef STRATA_CONFUSION_SCORE

struct auc {
    std::string name() const { return "auc"; }
    template <class T>
    double operator()(const predictions<T>& p) const {
        return roc_auc(p);
    }
};
// The mean errors keep sums over the batches of a pass.
struct mae {
    using tally_type = error_sums;
    std::string name() const { return "mae"; }
    tally_type start() const { return {}; }
    template <class T>
    void add(tally_type& e, const predictions<T>& p) const {
        e.add(p);
    }
    double result(const tally_type& e) const { return e.mean_absolute(); }
    template <class T>
    double operator()(const predictions<T>& p) const {
        return mean_absolute_error(p);
    }
};
struct mse {
    using tally_type = error_sums;
    std::string name() const { return "mse"; }
    tally_type start() const { return {}; }
    template <class T>
    void add(tally_type& e, const predictions<T>& p) const {
        e.add(p);
    }
    double result(const tally_type& e) const { return e.mean_squared(); }
    template <class T>
    double operator()(const predictions<T>& p) const {
        return mean_squared_error(p);
    }
};

template <class M, class T>
concept metric_policy = requires(const M& m, const predictions<T>& p) {
    { m.name() } -> std::convertible_to<std::string>;
    { m(p) } -> std::convertible_to<double>;
};

// A metric whose value over a pass follows from a running tally of its
// batches says how to keep it, and fit and evaluate then add each batch to
// the tally instead of keeping every output of the pass (a segmentation
// epoch's outputs need gigabytes):
//   using tally_type = ...;  tally_type start() const;
//   void add(tally_type&, const predictions<T>& batch) const;
//   double result(const tally_type&) const;
template <class M, class T>
concept batched_metric = metric_policy<M, T> &&
    requires(const M& m, typename M::tally_type& t, const predictions<T>& p) {
    { m.start() } -> std::convertible_to<typename M::tally_type>;
    m.add(t, p);
    { m.result(t) } -> std::convertible_to<double>;
};

// A metric policy with its type erased, as fit and evaluate keep them.
template <class T>
class any_metric {
public:
    // A batched metric's running tally over one pass.
    struct tally {
        virtual ~tally() = default;
        virtual void add(const predictions<T>& batch) = 0;
        virtual double result() const = 0;
    };

    template <class M>
    requires metric_policy<M, T>
    explicit any_metric(const M& m)
        : name_(m.name()), whole_([m](const predictions<T>& p) { return static_cast<double>(m(p)); }) {
        if constexpr (batched_metric<M, T>) {
            start_ = [m]() -> std::unique_ptr<tally> {
                struct running final : tally {
                    M metric;
                    typename M::tally_type t;
                    explicit running(const M& m) : metric(m), t(m.start()) {}
                    void add(const predictions<T>& batch) override { metric.add(t, batch); }
                    double result() const override { return static_cast<double>(metric.result(t)); }
                };
                return std::make_unique<running>(m);
            };
        }
    }

    const std::string& name() const noexcept { return name_; }
    bool batched() const noexcept { return static_cast<bool>(start_); }
    std::unique_ptr<tally> start() const { return start_ ? start_() : nullptr; }
    double operator()(const predictions<T>& whole_pass) const { return whole_(whole_pass); }

private:
    std::string name_;
    std::function<double(const predictions<T>&)> whole_;
    std::function<std::unique_ptr<tally>()> start_;
};

}  // namespace strata::metrics
