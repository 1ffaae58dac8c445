// Splitting and rebalancing a data set for evaluation and tuning, with
// scikit-learn's and imbalanced-learn's rules so that sizes and class counts
// carry over from Python: train_test_split (stratified as
// StratifiedShuffleSplit), kfold and stratified_kfold (KFold and
// StratifiedKFold), random_oversample and random_undersample
// (RandomOverSampler and RandomUnderSampler with sampling_strategy='auto').
// The forms taking labels (class indices) return indices; those taking a
// data set return data sets. Draws use strata's rng: a seed gives the same
// split on every platform, though not numpy's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "../core/error.hpp"
#include "../core/random.hpp"
#include "dataset.hpp"

namespace strata::data {

// Positions in a data set: a part to train on and a part held out.
struct index_split {
    std::vector<std::size_t> train{}, test{};
};

template <class T>
struct dataset_split {
    dataset<T> train{}, test{};
};

// The samples at indices, in that order (an index may repeat).
template <class T>
dataset<T> subset(const dataset<T>& d, std::span<const std::size_t> indices) {
    if (d.y.shape()[0] != d.size())
        throw usage_error("subset: the data set has " + std::to_string(d.size()) + " samples in x but " +
                          std::to_string(d.y.shape()[0]) + " target rows in y");
    for (std::size_t k = 0; k < indices.size(); ++k)
        if (indices[k] >= d.size())
            throw usage_error("subset: index " + std::to_string(k) + " is " + std::to_string(indices[k]) +
                              ", expected an index below the data set's " + std::to_string(d.size()) +
                              " samples");
    const auto& s = d.x.shape();
    dataset<T> out;
    out.x = xt::xtensor<T, 4>::from_shape({indices.size(), s[1], s[2], s[3]});
    out.y = xt::xtensor<T, 2>::from_shape({indices.size(), d.target_width()});
    d.gather(indices, out.x.data(), out.y.data());
    return out;
}

namespace detail {

template <class T>
std::vector<std::size_t> class_labels(const dataset<T>& d, const char* what) {
    return class_labels_of(d.y.data(), d.y.shape()[0], d.target_width(), what);
}

inline void fisher_yates(std::span<std::size_t> v, rng& r) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[r.below(i)]);
}

// The first k of v become k distinct members of v in random order (numpy's
// choice without replacement, by a partial shuffle).
inline void choose_front(std::span<std::size_t> v, std::size_t k, rng& r) {
    for (std::size_t i = 0; i < k; ++i) std::swap(v[i], v[i + r.below(v.size() - i)]);
}

// The classes present, ascending, and the members of each in index order.
struct class_groups {
    std::vector<std::size_t> classes;
    std::vector<std::vector<std::size_t>> members;
};
inline class_groups group_by_class(std::span<const std::size_t> labels) {
    std::vector<std::size_t> present(labels.begin(), labels.end());
    std::sort(present.begin(), present.end());
    present.erase(std::unique(present.begin(), present.end()), present.end());
    class_groups g{present, std::vector<std::vector<std::size_t>>(present.size())};
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto at = std::lower_bound(present.begin(), present.end(), labels[i]) - present.begin();
        g.members[static_cast<std::size_t>(at)].push_back(i);
    }
    return g;
}

// sklearn's _approximate_mode: how many of `draws` each class gets in
// proportion to its count, the floors first and the rest to the largest
// remainders, ties broken at random. The arithmetic is numpy's, in the same
// order, so the counts are sklearn's whenever it has no tie to break.
inline std::vector<std::size_t> approximate_mode(std::span<const std::size_t> counts, std::size_t draws,
                                                 rng& r) {
    const double total = static_cast<double>(std::accumulate(counts.begin(), counts.end(), std::size_t{0}));
    std::vector<std::size_t> taken(counts.size());
    std::vector<double> remainder(counts.size());
    std::size_t floored_sum = 0;
    for (std::size_t c = 0; c < counts.size(); ++c) {
        const double continuous = static_cast<double>(counts[c]) / total * static_cast<double>(draws);
        const double floored = std::floor(continuous);
        taken[c] = static_cast<std::size_t>(floored);
        remainder[c] = continuous - floored;
        floored_sum += taken[c];
    }
    std::size_t need = draws > floored_sum ? draws - floored_sum : 0;
    std::vector<double> values = remainder;
    std::sort(values.begin(), values.end(), std::greater<>());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (const double value : values) {
        if (need == 0) break;
        std::vector<std::size_t> tied;
        for (std::size_t c = 0; c < counts.size(); ++c)
            if (remainder[c] == value) tied.push_back(c);
        const std::size_t add = std::min(tied.size(), need);
        choose_front(tied, add, r);
        for (std::size_t k = 0; k < add; ++k) ++taken[tied[k]];
        need -= add;
    }
    return taken;
}

// Train and test indices from each sample's fold, both ascending (as
// sklearn's split, which goes through a boolean mask).
inline std::vector<index_split> folds_from(std::span<const std::size_t> fold_of, std::size_t folds) {
    std::vector<index_split> out(folds);
    for (std::size_t i = 0; i < fold_of.size(); ++i)
        for (std::size_t f = 0; f < folds; ++f) (f == fold_of[i] ? out[f].test : out[f].train).push_back(i);
    return out;
}

inline void check_fold_count(std::size_t folds, std::size_t samples, const char* what) {
    if (folds < 2)
        throw usage_error(std::string(what) + ": folds is " + std::to_string(folds) +
                          "; expected at least 2");
    if (samples < folds)
        throw usage_error(std::string(what) + ": " + std::to_string(samples) + " samples cannot fill " +
                          std::to_string(folds) + " folds; expected at least one sample per fold");
}

inline void check_labels_below(std::span<const std::size_t> labels, std::size_t classes, const char* what) {
    if (classes == 0) throw usage_error(std::string(what) + ": classes is 0; expected at least 1");
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels[i] >= classes)
            throw usage_error(std::string(what) + ": sample " + std::to_string(i) + " has class " +
                              std::to_string(labels[i]) + ", expected a class below " +
                              std::to_string(classes));
}

// The groups of a resampler's labels: at least two classes, as imbalanced-learn requires.
inline class_groups resampling_groups(std::span<const std::size_t> labels, std::size_t classes,
                                      const char* what) {
    check_labels_below(labels, classes, what);
    class_groups g = group_by_class(labels);
    if (g.classes.size() < 2)
        throw usage_error(
            std::string(what) + ": the labels hold " +
            (g.classes.empty() ? std::string("no samples") : "only class " + std::to_string(g.classes[0])) +
            "; resampling needs at least two classes");
    return g;
}

}  // namespace detail

// Each sample's class: targets of width 1 must hold whole, non-negative class
// indices; wider rows are one-hot (the class is the largest entry).
template <class T>
std::vector<std::size_t> class_labels(const dataset<T>& d) {
    return detail::class_labels(d, "class_labels");
}

// sklearn's train_test_split with a float test_size: ceil(test_fraction * n)
// samples held out, the rest for training. Unstratified, a random
// permutation's first n_test samples are the test part (ShuffleSplit);
// stratified, each class gives its share as StratifiedShuffleSplit allocates
// it (the per-class counts are sklearn's except where sklearn breaks a tie
// at random), both parts in random order.
inline index_split train_test_split(std::span<const std::size_t> labels, double test_fraction,
                                    std::uint64_t seed, bool stratify = false) {
    const std::size_t n = labels.size();
    if (!(test_fraction > 0.0 && test_fraction < 1.0)) {
        std::ostringstream value;
        value << test_fraction;
        throw usage_error("train_test_split: test_fraction is " + value.str() +
                          "; expected a fraction in (0, 1)");
    }
    if (n == 0) throw usage_error("train_test_split: there are no samples to split");
    const auto n_test = static_cast<std::size_t>(std::ceil(test_fraction * static_cast<double>(n)));
    if (n_test >= n) {
        std::ostringstream value;
        value << test_fraction;
        throw usage_error("train_test_split: with " + std::to_string(n) + " samples and test_fraction " +
                          value.str() + " the training part would be empty");
    }
    const std::size_t n_train = n - n_test;
    rng r(mix_keys(seed, 0x5b1175));
    index_split out;
    if (!stratify) {
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        detail::fisher_yates(order, r);
        out.test.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test));
        out.train.assign(order.begin() + static_cast<std::ptrdiff_t>(n_test), order.end());
        return out;
    }
    detail::class_groups g = detail::group_by_class(labels);
    const std::size_t k = g.classes.size();
    std::vector<std::size_t> counts(k);
    for (std::size_t c = 0; c < k; ++c) {
        counts[c] = g.members[c].size();
        if (counts[c] < 2)
            throw usage_error("train_test_split: class " + std::to_string(g.classes[c]) +
                              " has only 1 sample; a stratified split needs at least 2 in every class");
    }
    auto too_few = [&](const char* part, std::size_t size) {
        if (size < k)
            throw usage_error("train_test_split: the " + std::string(part) + " part would hold " +
                              std::to_string(size) + " samples, fewer than the " + std::to_string(k) +
                              " classes; a stratified split needs one of each");
    };
    too_few("training", n_train);
    too_few("test", n_test);
    const std::vector<std::size_t> train_counts = detail::approximate_mode(counts, n_train, r);
    std::vector<std::size_t> remaining(k);
    for (std::size_t c = 0; c < k; ++c) remaining[c] = counts[c] - train_counts[c];
    const std::vector<std::size_t> test_counts = detail::approximate_mode(remaining, n_test, r);
    for (std::size_t c = 0; c < k; ++c) {
        auto& members = g.members[c];
        detail::fisher_yates(members, r);
        const auto a = members.begin() + static_cast<std::ptrdiff_t>(train_counts[c]);
        out.train.insert(out.train.end(), members.begin(), a);
        out.test.insert(out.test.end(), a, a + static_cast<std::ptrdiff_t>(test_counts[c]));
    }
    detail::fisher_yates(out.train, r);
    detail::fisher_yates(out.test, r);
    return out;
}

// The same on a data set; stratifying reads its class labels (class_labels).
template <class T>
dataset_split<T> train_test_split(const dataset<T>& d, double test_fraction, std::uint64_t seed,
                                  bool stratify = false) {
    const std::vector<std::size_t> labels =
        stratify ? detail::class_labels(d, "train_test_split") : std::vector<std::size_t>(d.size());
    const index_split s = train_test_split(labels, test_fraction, seed, stratify);
    return {subset(d, s.train), subset(d, s.test)};
}

// sklearn's KFold: consecutive folds of n / folds samples, the first n % folds
// one larger, over 0..n-1 or over a seeded permutation of it. Each fold's
// test part is held out and the rest trains; both ascending.
inline std::vector<index_split> kfold(std::size_t n, std::size_t folds, bool shuffle = false,
                                      std::uint64_t seed = 0) {
    detail::check_fold_count(folds, n, "kfold");
    std::vector<std::size_t> order(n), fold_of(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (shuffle) {
        rng r(mix_keys(seed, 0xcf01d));
        detail::fisher_yates(order, r);
    }
    for (std::size_t f = 0, at = 0; f < folds; ++f) {
        const std::size_t size = n / folds + (f < n % folds ? 1 : 0);
        for (std::size_t k = 0; k < size; ++k) fold_of[order[at++]] = f;
    }
    return detail::folds_from(fold_of, folds);
}

// sklearn's StratifiedKFold (>= 0.22): classes are numbered in order of first
// appearance; fold f's share of each class is how often that class occurs at
// positions f, f + folds, ... of the labels sorted by that numbering; each
// class's samples, in index order, take fold numbers 0,0,..,1,1,.. by those
// shares (shuffled per class with shuffle). Without shuffle every fold holds
// exactly sklearn's samples; with it, the same count of each class. Unlike
// sklearn, which only warns unless every class is too small, a class with
// fewer samples than folds is an error: some folds would test without it.
inline std::vector<index_split> stratified_kfold(std::span<const std::size_t> labels, std::size_t folds,
                                                 bool shuffle = false, std::uint64_t seed = 0) {
    const std::size_t n = labels.size();
    detail::check_fold_count(folds, n, "stratified_kfold");
    std::unordered_map<std::size_t, std::size_t> code_of;
    std::vector<std::size_t> code(n), label_of_code;
    for (std::size_t i = 0; i < n; ++i) {
        const auto [it, added] = code_of.try_emplace(labels[i], label_of_code.size());
        if (added) label_of_code.push_back(labels[i]);
        code[i] = it->second;
    }
    const std::size_t k = label_of_code.size();
    std::vector<std::size_t> counts(k, 0);
    for (const std::size_t c : code) ++counts[c];
    for (std::size_t c = 0; c < k; ++c)
        if (counts[c] < folds)
            throw usage_error("stratified_kfold: class " + std::to_string(label_of_code[c]) + " has " +
                              std::to_string(counts[c]) + " sample" + (counts[c] == 1 ? "" : "s") +
                              ", fewer than the " + std::to_string(folds) +
                              " folds; every class needs at least one sample per fold (use fewer folds)");
    // Class c fills positions [start, start + counts[c]) of the sorted codes.
    std::vector<std::vector<std::size_t>> allocation(k, std::vector<std::size_t>(folds, 0));
    for (std::size_t c = 0, start = 0; c < k; start += counts[c], ++c)
        for (std::size_t p = start; p < start + counts[c]; ++p) ++allocation[c][p % folds];
    rng r(mix_keys(seed, 0x5cf01d));
    std::vector<std::vector<std::size_t>> folds_for_class(k);
    for (std::size_t c = 0; c < k; ++c) {
        for (std::size_t f = 0; f < folds; ++f)
            folds_for_class[c].insert(folds_for_class[c].end(), allocation[c][f], f);
        if (shuffle) detail::fisher_yates(folds_for_class[c], r);
    }
    std::vector<std::size_t> fold_of(n), next(k, 0);
    for (std::size_t i = 0; i < n; ++i) fold_of[i] = folds_for_class[code[i]][next[code[i]]++];
    return detail::folds_from(fold_of, folds);
}

// The folds of a data set's class labels (class_labels).
template <class T>
std::vector<index_split> stratified_kfold(const dataset<T>& d, std::size_t folds, bool shuffle = false,
                                          std::uint64_t seed = 0) {
    return stratified_kfold(detail::class_labels(d, "stratified_kfold"), folds, shuffle, seed);
}

// imbalanced-learn's RandomOverSampler (sampling_strategy='auto'): every
// class but the majority (the lowest-numbered of the largest) is topped up to
// the majority's count by draws with replacement. The indices are every
// original sample in order, then the draws, class by class in class order.
// Classes below `classes` that have no samples stay absent.
inline std::vector<std::size_t> random_oversample(std::span<const std::size_t> labels, std::size_t classes,
                                                  std::uint64_t seed) {
    const detail::class_groups g = detail::resampling_groups(labels, classes, "random_oversample");
    std::size_t majority = 0;
    for (const auto& m : g.members) majority = std::max(majority, m.size());
    std::vector<std::size_t> out(labels.size());
    std::iota(out.begin(), out.end(), std::size_t{0});
    rng r(mix_keys(seed, 0x0e75a));
    for (const auto& members : g.members)
        for (std::size_t k = members.size(); k < majority; ++k)
            out.push_back(members[r.below(members.size())]);
    return out;
}

// imbalanced-learn's RandomUnderSampler (sampling_strategy='auto'): every
// class but the minority (the lowest-numbered of the smallest) is cut to the
// minority's count without replacement. The indices come class by class in
// class order: the minority's in index order, each other class's in the
// random order drawn.
inline std::vector<std::size_t> random_undersample(std::span<const std::size_t> labels, std::size_t classes,
                                                   std::uint64_t seed) {
    detail::class_groups g = detail::resampling_groups(labels, classes, "random_undersample");
    std::size_t minority_class = 0;
    for (std::size_t c = 1; c < g.members.size(); ++c)
        if (g.members[c].size() < g.members[minority_class].size()) minority_class = c;
    const std::size_t minority = g.members[minority_class].size();
    std::vector<std::size_t> out;
    out.reserve(minority * g.members.size());
    rng r(mix_keys(seed, 0x0d5a));
    for (std::size_t c = 0; c < g.members.size(); ++c) {
        auto& members = g.members[c];
        if (c != minority_class) detail::choose_front(members, minority, r);
        out.insert(out.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(minority));
    }
    return out;
}

// The same on a data set, whose targets are class indices below classes or
// one-hot rows.
template <class T>
dataset<T> random_oversample(const dataset<T>& d, std::size_t classes, std::uint64_t seed) {
    return subset(d, random_oversample(detail::class_labels(d, "random_oversample"), classes, seed));
}
template <class T>
dataset<T> random_undersample(const dataset<T>& d, std::size_t classes, std::uint64_t seed) {
    return subset(d, random_undersample(detail::class_labels(d, "random_undersample"), classes, seed));
}

}  // namespace strata::data
