// Model selection, as scikit-learn's cross_validate and GridSearchCV: the
// data are split into folds once (stratified 5-fold by default), a callable
// of yours builds a fresh network, fits it on a fold's training part and
// scores it on the held-out part, and the scores are summarised over the
// folds by their mean and population standard deviation (ddof = 0, as
// np.std and sklearn's std_test_score). grid_search does that for every
// candidate of a parameter grid, in ParameterGrid's order, and ranks the
// candidates as GridSearchCV's rank_test_score. Folds and candidates run one
// after another; each fit uses every thread it is given.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iomanip>
#include <limits>
#include <map>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../data/dataset.hpp"
#include "../data/split.hpp"
#include "callbacks.hpp"
#include "history.hpp"
#include "trainer.hpp"

namespace strata {

// One fold's scores by name, e.g. {{"accuracy", 0.91}, {"loss", 0.27}}.
using fold_scores = std::map<std::string, double, std::less<>>;

// What evaluate measured, as fold scores: loss, accuracy (classification
// losses), mae and mse (one target per output) and each metric policy by name.
inline fold_scores scores_of(const evaluation& e) {
    fold_scores s{{"loss", e.loss}};
    if (!std::isnan(e.accuracy)) s["accuracy"] = e.accuracy;
    if (!std::isnan(e.mean_absolute_error)) s["mae"] = e.mean_absolute_error;
    if (!std::isnan(e.mean_squared_error)) s["mse"] = e.mean_squared_error;
    for (const auto& [name, value] : e.metrics) s[name] = value;
    return s;
}

// How cross-validation splits the data.
struct cv_options {
    std::size_t folds = 5;
    bool stratify = true;  // stratified_kfold on the class labels; false: kfold, for any targets
    // sklearn's cv=5 keeps the data's order; shuffling (seeded) keeps data
    // sorted by class or by time from giving folds unlike each other.
    bool shuffle = true;
    std::uint64_t seed = 0;
    // When given, these folds as they are, and the four settings above are unused.
    std::vector<data::index_split> splits{};
    std::ostream* progress = nullptr;  // a line per fold
};

struct cv_result {
    std::vector<fold_scores> folds{};  // in fold order
    std::vector<double> seconds{};     // each fold's wall time: building, fitting and scoring
    fold_scores mean{}, std{};         // over the folds; std is the population one (ddof = 0)
};

// A parameter to tune and the values to try; every hyper-parameter of strata
// is a run-time value (learning rate, batch size, dropout rate, penalty
// strength, augmentation ranges), so a double covers them.
struct param {
    std::string name{};
    std::vector<double> values{};
};
using param_grid = std::vector<param>;

// One candidate: a value per parameter, sorted by name.
struct param_set {
    std::vector<std::pair<std::string, double>> values{};

    double operator[](std::string_view name) const {
        for (const auto& [n, v] : values)
            if (n == name) return v;
        std::string known;
        for (const auto& [n, v] : values) known += (known.empty() ? "" : ", ") + n;
        throw usage_error("param_set: there is no parameter '" + std::string(name) + "'; the grid has " +
                          (known.empty() ? std::string("none") : known));
    }
    // A parameter that counts something (batch size, epochs, units).
    std::size_t whole(std::string_view name) const {
        const double v = (*this)[name];
        if (!(v >= 0 && v < 1e15 && v == std::floor(v)))
            throw usage_error("param_set: parameter '" + std::string(name) + "' is " + detail::general(v) +
                              "; expected a whole number >= 0");
        return static_cast<std::size_t>(v);
    }
};

struct grid_search_options {
    std::string scoring = "accuracy";  // the fold score that ranks the candidates
    bool greater_is_better = true;     // false to rank by a loss, lowest first
    cv_options cv{};
};

struct grid_candidate {
    param_set params{};
    cv_result scores{};
    std::size_t rank = 0;  // 1 is best; tied means share the smaller rank (rankdata's 'min')
};

struct grid_search_result {
    std::vector<grid_candidate> candidates{};  // in parameter_grid's order
    std::string scoring{};
    bool greater_is_better = true;
    std::size_t best_index = 0;  // the first candidate of rank 1
    param_set best_params{};
    double best_score = not_measured;     // its mean score
    double refit_seconds = not_measured;  // NaN without refit
};

namespace detail {

// numpy's pairwise summation (np.add.reduce over a contiguous row), so that
// means and deviations equal sklearn's to the last bit.
inline double numpy_sum(std::span<const double> a) {
    const std::size_t n = a.size();
    if (n < 8) {
        double s = 0.;
        for (const double v : a) s += v;
        return s;
    }
    if (n <= 128) {
        double r[8];
        for (std::size_t j = 0; j < 8; ++j) r[j] = a[j];
        std::size_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (std::size_t j = 0; j < 8; ++j) r[j] += a[i + j];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) s += a[i];
        return s;
    }
    std::size_t half = n / 2;
    half -= half % 8;
    return numpy_sum(a.first(half)) + numpy_sum(a.subspan(half));
}

inline std::string fixed(double v, int digits) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << v;
    return s.str();
}
inline std::string fixed4(double v) { return fixed(v, 4); }

inline std::string names_of(const fold_scores& s) {
    std::string out;
    for (const auto& [name, v] : s) out += (out.empty() ? "" : ", ") + name;
    return out.empty() ? "nothing" : out;
}

inline std::string scores_text(const fold_scores& s) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(4);
    bool first = true;
    for (const auto& [name, v] : s) {
        out << (first ? "" : ", ") << name << ' ' << v;
        first = false;
    }
    return out.str();
}

// Mean and population standard deviation of each score over the folds.
inline void summarise(cv_result& r) {
    std::vector<double> values(r.folds.size()), deviations(r.folds.size());
    for (const auto& [name, unused] : r.folds.front()) {
        for (std::size_t f = 0; f < r.folds.size(); ++f) values[f] = r.folds[f].find(name)->second;
        const double mean = numpy_sum(values) / static_cast<double>(values.size());
        for (std::size_t f = 0; f < values.size(); ++f)
            deviations[f] = (values[f] - mean) * (values[f] - mean);
        r.mean[name] = mean;
        r.std[name] = std::sqrt(numpy_sum(deviations) / static_cast<double>(values.size()));
    }
}

template <class T>
std::vector<data::index_split> checked_splits(const data::dataset<T>& d, const cv_options& o,
                                              const char* what) {
    if (d.y.shape()[0] != d.size())
        throw usage_error(std::string(what) + ": the data set has " + std::to_string(d.size()) +
                          " samples in x but " + std::to_string(d.y.shape()[0]) + " target rows in y");
    if (o.splits.empty()) {
        if (!o.stratify) return data::kfold(d.size(), o.folds, o.shuffle, o.seed);
        std::vector<std::size_t> labels;
        try {
            labels = data::class_labels(d);
        } catch (const usage_error& e) {
            throw usage_error(std::string(what) + ": stratified folds need class labels (" + e.what() +
                              "); set cv_options.stratify = false for other targets");
        }
        try {
            return data::stratified_kfold(labels, o.folds, o.shuffle, o.seed);
        } catch (const usage_error& e) {
            throw usage_error(std::string(what) + ": " + e.what());
        }
    }
    for (std::size_t f = 0; f < o.splits.size(); ++f) {
        const auto& s = o.splits[f];
        if (s.train.empty() || s.test.empty())
            throw usage_error(std::string(what) + ": split " + std::to_string(f) + " has an empty " +
                              (s.train.empty() ? "training" : "test") + " part");
        for (const auto* part : {&s.train, &s.test})
            for (const std::size_t i : *part)
                if (i >= d.size())
                    throw usage_error(std::string(what) + ": split " + std::to_string(f) + " holds index " +
                                      std::to_string(i) + ", expected indices below the data set's " +
                                      std::to_string(d.size()) + " samples");
    }
    return o.splits;
}

// Runs every fold through call(train, test, fold) and summarises the scores;
// `scoring`, when not empty, must be among them.
template <class T, class Call>
cv_result run_folds(const data::dataset<T>& d, std::span<const data::index_split> splits, Call&& call,
                    std::ostream* progress, const std::string& scoring, const char* what) {
    cv_result r;
    for (std::size_t f = 0; f < splits.size(); ++f) {
        const auto start = std::chrono::steady_clock::now();
        const data::dataset<T> train = data::subset(d, splits[f].train),
                               test = data::subset(d, splits[f].test);
        fold_scores s = call(train, test, f);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (s.empty())
            throw usage_error(std::string(what) + ": fold " + std::to_string(f) +
                              " returned no scores; return at least one, e.g. scores_of(evaluate(...))");
        if (f > 0 && !std::equal(s.begin(), s.end(), r.folds.front().begin(), r.folds.front().end(),
                                 [](const auto& a, const auto& b) { return a.first == b.first; }))
            throw usage_error(std::string(what) + ": fold " + std::to_string(f) + " returned " + names_of(s) +
                              " but fold 0 returned " + names_of(r.folds.front()) +
                              "; every fold must return the same scores");
        if (!scoring.empty() && !s.contains(scoring))
            throw usage_error(std::string(what) + ": scoring is '" + scoring + "', but fold " +
                              std::to_string(f) + " returned only " + names_of(s) +
                              "; return it from the fold callable or score by one of those");
        if (progress)  // built apart so the caller's stream keeps its own formatting
            *progress << "  fold " + std::to_string(f + 1) + "/" + std::to_string(splits.size()) + ": " +
                             scores_text(s) + " (" + fixed(seconds, 1) + " s)"
                      << std::endl;
        r.folds.push_back(std::move(s));
        r.seconds.push_back(seconds);
    }
    summarise(r);
    return r;
}

template <class F, class... Args>
fold_scores fold_call(F& f, const Args&... args) {
    using R = std::invoke_result_t<F&, const Args&...>;
    static_assert(std::convertible_to<R, fold_scores>,
                  "the fold callable must return fold_scores (a map from score name to value), e.g. "
                  "return scores_of(evaluate(net, test, loss));");
    if constexpr (std::convertible_to<R, fold_scores>)
        return f(args...);
    else
        return {};
}

// GridSearchCV's rank_test_score: 1 + the number of better means, NaN means
// tied just below the worst (all NaN: all first).
inline std::vector<std::size_t> rank_means(std::span<const double> means, bool greater_is_better) {
    std::vector<double> key(means.size());
    double lowest = std::numeric_limits<double>::infinity();
    bool any = false;
    for (std::size_t i = 0; i < means.size(); ++i) {
        key[i] = greater_is_better ? means[i] : -means[i];
        if (!std::isnan(key[i])) {
            lowest = std::min(lowest, key[i]);
            any = true;
        }
    }
    std::vector<std::size_t> rank(means.size(), 1);
    if (!any) return rank;
    for (auto& k : key)
        if (std::isnan(k)) k = lowest - 1;
    for (std::size_t i = 0; i < key.size(); ++i)
        for (const double other : key) rank[i] += other > key[i];
    return rank;
}

// A table with right-aligned columns (the first one left-aligned if asked), for to_string.
inline std::string table_text(const std::vector<std::vector<std::string>>& rows, bool left_first = false) {
    std::vector<std::size_t> width;
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c) {
            if (width.size() <= c) width.push_back(0);
            width[c] = std::max(width[c], row[c].size());
        }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            const std::string pad(width[c] - row[c].size(), ' ');
            line += (c ? "  " : "") + (c == 0 && left_first ? row[c] + pad : pad + row[c]);
        }
        out += line.substr(0, line.find_last_not_of(' ') + 1) + '\n';
    }
    return out;
}

// JSON text: strings escaped as RFC 8259 asks, numbers that read back
// exactly, null for NaN and infinities (not measured).
inline std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    static constexpr char hex[] = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[(c >> 4) & 0xf];
                    out += hex[c & 0xf];
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}
inline std::string json_number(double v) { return std::isfinite(v) ? shortest(v) : "null"; }
inline std::string json_object(const fold_scores& s) {
    std::string out = "{";
    for (const auto& [name, v] : s)
        out += (out.size() > 1 ? ", " : "") + json_string(name) + ": " + json_number(v);
    return out + "}";
}
inline std::string json_object(const param_set& p) {
    std::string out = "{";
    for (const auto& [name, v] : p.values)
        out += (out.size() > 1 ? ", " : "") + json_string(name) + ": " + json_number(v);
    return out + "}";
}
inline std::string json_cv(const cv_result& r) {
    std::string out = "\"folds\": [";
    for (std::size_t f = 0; f < r.folds.size(); ++f) out += (f ? ", " : "") + json_object(r.folds[f]);
    out += "], \"seconds\": [";
    for (std::size_t f = 0; f < r.seconds.size(); ++f) out += (f ? ", " : "") + json_number(r.seconds[f]);
    return out + "], \"mean\": " + json_object(r.mean) + ", \"std\": " + json_object(r.std);
}

}  // namespace detail

// "dropout=0.5, lr=0.001"
inline std::string to_string(const param_set& p) {
    std::string out;
    for (const auto& [name, v] : p.values) out += (out.empty() ? "" : ", ") + name + "=" + detail::general(v);
    return out.empty() ? "(no parameters)" : out;
}

// The folds cross_validate and grid_search use for d: the given splits,
// checked, or k-fold ones as the options ask.
template <class T>
std::vector<data::index_split> cv_splits(const data::dataset<T>& d, const cv_options& options = {}) {
    return detail::checked_splits(d, options, "cv_splits");
}

// For each fold, run_fold(train, test, fold) (or run_fold(train, test))
// builds a fresh network, fits it on train and returns its scores on test:
//   auto cv = st::cross_validate([&](const auto& train, const auto& test, std::size_t) {
//       net_t net{st::seed{1}};
//       st::fit(net, train, loss, st::optim::adam{}, st::epochs{2});
//       return st::scores_of(st::evaluate(net, test, loss));
//   }, data, {.folds = 3});
// Every fold must return the same score names.
template <class T, class RunFold>
cv_result cross_validate(RunFold&& run_fold, const data::dataset<T>& data, const cv_options& options = {}) {
    using D = data::dataset<T>;
    static_assert(std::invocable<RunFold&, const D&, const D&, std::size_t> ||
                      std::invocable<RunFold&, const D&, const D&>,
                  "cross_validate: the fold callable must take (const dataset<T>& train, const dataset<T>& "
                  "test, std::size_t fold) or (train, test)");
    const std::vector<data::index_split> splits = detail::checked_splits(data, options, "cross_validate");
    auto call = [&](const D& train, const D& test, std::size_t fold) {
        if constexpr (std::invocable<RunFold&, const D&, const D&, std::size_t>)
            return detail::fold_call(run_fold, train, test, fold);
        else
            return detail::fold_call(run_fold, train, test);
    };
    cv_result r = detail::run_folds(data, splits, call, options.progress, {}, "cross_validate");
    if (options.progress)
        *options.progress << "  mean over " << splits.size() << " folds: " << detail::scores_text(r.mean)
                          << std::endl;
    return r;
}

// sklearn's ParameterGrid: every combination of the values, with the names
// sorted and the last name varying fastest. A grid without parameters has
// one candidate, with none.
inline std::vector<param_set> parameter_grid(const param_grid& grid) {
    param_grid sorted = grid;
    std::sort(sorted.begin(), sorted.end(), [](const param& a, const param& b) { return a.name < b.name; });
    std::size_t count = 1;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        const param& p = sorted[i];
        if (p.name.empty()) throw usage_error("parameter_grid: a parameter has an empty name");
        if (i > 0 && sorted[i - 1].name == p.name)
            throw usage_error("parameter_grid: the parameter '" + p.name + "' is given twice");
        if (p.values.empty())
            throw usage_error("parameter_grid: the parameter '" + p.name +
                              "' has no values; expected at least one");
        for (const double v : p.values)
            if (!std::isfinite(v))
                throw usage_error("parameter_grid: the parameter '" + p.name + "' has the value " +
                                  detail::general(v) + "; expected finite values");
        if (count > (std::size_t{1} << 32) / p.values.size())
            throw usage_error("parameter_grid: the grid has over 2^32 candidates");
        count *= p.values.size();
    }
    std::vector<param_set> out;
    out.reserve(count);
    std::vector<std::size_t> at(sorted.size(), 0);
    for (std::size_t c = 0; c < count; ++c) {
        param_set s;
        for (std::size_t i = 0; i < sorted.size(); ++i)
            s.values.emplace_back(sorted[i].name, sorted[i].values[at[i]]);
        out.push_back(std::move(s));
        for (std::size_t i = sorted.size(); i-- > 0;) {  // an odometer: the last name turns fastest
            if (++at[i] < sorted[i].values.size()) break;
            at[i] = 0;
        }
    }
    return out;
}

// Cross-validates every candidate of the grid on the same folds and ranks
// them by the mean of options.scoring. run_fold(params, train, test, fold)
// (or without fold) builds a network from params, fits it on train and
// returns its scores on test; refit(best_params, data), when given, trains
// the final model on all the data once the best candidate is known.
template <class T, class RunFold, class Refit>
grid_search_result grid_search(const param_grid& grid, const data::dataset<T>& data, RunFold&& run_fold,
                               const grid_search_options& options, Refit&& refit) {
    using D = data::dataset<T>;
    static_assert(std::invocable<RunFold&, const param_set&, const D&, const D&, std::size_t> ||
                      std::invocable<RunFold&, const param_set&, const D&, const D&>,
                  "grid_search: the fold callable must take (const param_set& params, const dataset<T>& "
                  "train, const dataset<T>& test, std::size_t fold) or (params, train, test)");
    static_assert(std::is_null_pointer_v<std::remove_cvref_t<Refit>> ||
                      std::invocable<Refit&, const param_set&, const D&>,
                  "grid_search: refit must take (const param_set& best_params, const dataset<T>& data)");
    if (options.scoring.empty())
        throw usage_error("grid_search: scoring is empty; name the score to rank by");
    const std::vector<param_set> candidates = parameter_grid(grid);
    const std::vector<data::index_split> splits = detail::checked_splits(data, options.cv, "grid_search");
    std::ostream* progress = options.cv.progress;
    grid_search_result r{.scoring = options.scoring, .greater_is_better = options.greater_is_better};
    std::vector<double> means;
    for (std::size_t c = 0; c < candidates.size(); ++c) {
        const param_set& p = candidates[c];
        if (progress)
            *progress << "candidate " << c + 1 << "/" << candidates.size() << ": " << to_string(p)
                      << std::endl;
        auto call = [&](const D& train, const D& test, std::size_t fold) {
            if constexpr (std::invocable<RunFold&, const param_set&, const D&, const D&, std::size_t>)
                return detail::fold_call(run_fold, p, train, test, fold);
            else
                return detail::fold_call(run_fold, p, train, test);
        };
        cv_result scores = detail::run_folds(data, splits, call, progress, options.scoring, "grid_search");
        means.push_back(scores.mean.find(options.scoring)->second);
        if (progress)
            *progress << "  mean " << options.scoring << " " << detail::fixed4(means.back()) << " (std "
                      << detail::fixed4(scores.std.find(options.scoring)->second) << ")" << std::endl;
        r.candidates.push_back({p, std::move(scores), 0});
    }
    const std::vector<std::size_t> ranks = detail::rank_means(means, options.greater_is_better);
    for (std::size_t c = 0; c < ranks.size(); ++c) r.candidates[c].rank = ranks[c];
    r.best_index = static_cast<std::size_t>(std::find(ranks.begin(), ranks.end(), 1) - ranks.begin());
    r.best_params = candidates[r.best_index];
    r.best_score = means[r.best_index];
    if constexpr (!std::is_null_pointer_v<std::remove_cvref_t<Refit>>) {
        if (progress)
            *progress << "refit on all " << data.size() << " samples with " << to_string(r.best_params)
                      << std::endl;
        const auto start = std::chrono::steady_clock::now();
        refit(std::as_const(r.best_params), data);
        r.refit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    return r;
}

template <class T, class RunFold>
grid_search_result grid_search(const param_grid& grid, const data::dataset<T>& data, RunFold&& run_fold,
                               const grid_search_options& options = {}) {
    return grid_search(grid, data, std::forward<RunFold>(run_fold), options, nullptr);
}

// A row per fold, then the mean and standard deviation of each score.
inline std::string to_string(const cv_result& r) {
    if (r.folds.empty()) return "no folds\n";
    std::vector<std::vector<std::string>> rows{{"fold"}};
    for (const auto& [name, v] : r.folds.front()) rows[0].push_back(name);
    rows[0].push_back("seconds");
    for (std::size_t f = 0; f < r.folds.size(); ++f) {
        rows.push_back({std::to_string(f)});
        for (const auto& [name, v] : r.folds[f]) rows.back().push_back(detail::fixed4(v));
        rows.back().push_back(detail::fixed(r.seconds[f], 2));
    }
    for (const auto* summary : {&r.mean, &r.std}) {
        rows.push_back({summary == &r.mean ? "mean" : "std"});
        for (const auto& [name, v] : *summary) rows.back().push_back(detail::fixed4(v));
        rows.back().push_back("");
    }
    return detail::table_text(rows, true);
}

// One line: {"folds": [{...}, ...], "seconds": [...], "mean": {...}, "std": {...}}
inline std::string to_json(const cv_result& r) { return "{" + detail::json_cv(r) + "}"; }

// A row per candidate in grid order: its rank, parameters, and the mean and
// standard deviation of each score (the ranking one first), as sklearn's
// cv_results_; then the best candidate.
inline std::string to_string(const grid_search_result& r) {
    if (r.candidates.empty()) return "no candidates\n";
    const auto& first = r.candidates.front();
    std::vector<std::string> names{r.scoring};
    for (const auto& [name, v] : first.scores.mean)
        if (name != r.scoring) names.push_back(name);
    std::vector<std::vector<std::string>> rows{{"rank"}};
    for (const auto& [name, v] : first.params.values) rows[0].push_back(name);
    for (const auto& name : names) {
        rows[0].push_back("mean " + name);
        rows[0].push_back("std " + name);
    }
    rows[0].push_back("seconds");
    for (const auto& c : r.candidates) {
        rows.push_back({std::to_string(c.rank)});
        for (const auto& [name, v] : c.params.values) rows.back().push_back(detail::general(v));
        for (const auto& name : names) {
            rows.back().push_back(detail::fixed4(c.scores.mean.find(name)->second));
            rows.back().push_back(detail::fixed4(c.scores.std.find(name)->second));
        }
        double seconds = 0;
        for (const double s : c.scores.seconds) seconds += s;
        rows.back().push_back(detail::fixed(seconds, 1));
    }
    return detail::table_text(rows) + "best: " + to_string(r.best_params) + " (mean " + r.scoring + " " +
           detail::fixed4(r.best_score) + ", " + (r.greater_is_better ? "higher" : "lower") + " is better)\n";
}

// One line: {"scoring": ..., "greater_is_better": ..., "candidates": [{"params": {...}, "rank": n,
// "folds": [...], "seconds": [...], "mean": {...}, "std": {...}}, ...], "best_index": n,
// "best_params": {...}, "best_score": x, "refit_seconds": x or null}
inline std::string to_json(const grid_search_result& r) {
    std::string out = "{\"scoring\": " + detail::json_string(r.scoring) +
                      ", \"greater_is_better\": " + (r.greater_is_better ? "true" : "false") +
                      ", \"candidates\": [";
    for (std::size_t c = 0; c < r.candidates.size(); ++c) {
        const auto& k = r.candidates[c];
        out += std::string(c ? ", " : "") + "{\"params\": " + detail::json_object(k.params) +
               ", \"rank\": " + std::to_string(k.rank) + ", " + detail::json_cv(k.scores) + "}";
    }
    return out + "], \"best_index\": " + std::to_string(r.best_index) +
           ", \"best_params\": " + detail::json_object(r.best_params) +
           ", \"best_score\": " + detail::json_number(r.best_score) +
           ", \"refit_seconds\": " + detail::json_number(r.refit_seconds) + "}";
}

}  // namespace strata
