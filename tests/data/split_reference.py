#!/usr/bin/python3
"""Writes scikit-learn's and imbalanced-learn's results for strata's split
tests (tests/data/split.cpp) and grid-search tests (tests/train/tune.cpp),
as OUT_DIR/reference.txt: one line per entry, "key value value ...".

For each label vector (imbalanced, unsorted with absent classes, a class of
one sample, sorted binary, tied remainders, large):
  <case>.labels, <case>.classes (largest label + 1)
  StratifiedKFold(k) without shuffle: <case>.skf<k>.test<f> (exact indices);
  with shuffle: <case>.skf<k>.counts (per fold, the test count of each class)
  KFold(k) without shuffle: <case>.kfold<k>.test<f>
  train_test_split(test_size=p): <case>.tts<i>.fraction, .sizes (n_train, n_test),
  and stratified, .outcomes: every distinct (train counts, test counts) over
  300 random states, one row of 2 * classes per outcome, and .outcome_count
  RandomOverSampler / RandomUnderSampler: <case>.over.counts, .over.sample_indices,
  <case>.under.counts, <case>.under.minority (the minority's indices, in order)
ParameterGrid: grid<i>.input_names (insertion order), grid<i>.values.<name>,
  grid<i>.sorted_names, grid<i>.candidate<j> (values in sorted-name order)
GridSearchCV ranking on a fixed score table (ties and NaN): rank<i>.scores
  (candidates x folds), .mean, .std, .rank, .best_index, .best_score

usage: split_reference.py OUT_DIR
"""
import os
import sys
import warnings

import numpy as np

try:
    from imblearn.over_sampling import RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler
except ImportError:
    sys.exit(f"{sys.executable} cannot import imblearn: install Debian's python3-imblearn")
from sklearn.base import BaseEstimator
from sklearn.model_selection import (GridSearchCV, KFold, ParameterGrid, PredefinedSplit, StratifiedKFold,
                                     train_test_split)


def label_cases():
    rng = np.random.default_rng(15)
    cases = {}
    imbalanced = np.repeat(np.arange(4), [30, 15, 10, 5])
    rng.shuffle(imbalanced)
    cases["imbalanced"] = imbalanced
    # Class 0 and 4 absent, first appearance order (7, 2, 9, 5) differs from sorted order.
    unsorted = np.array([7, 2, 7, 9, 5, 2, 2, 7, 9, 9, 5, 7, 2, 2, 9, 7, 5, 5, 7, 2, 2, 9, 7, 7, 5, 9, 2])
    cases["unsorted"] = unsorted
    singleton = np.repeat(np.arange(3), [12, 7, 1])
    rng.shuffle(singleton)
    cases["singleton"] = singleton
    cases["sorted_binary"] = np.repeat([0, 1], [14, 9])
    ties = np.repeat(np.arange(4), [4, 4, 4, 3])  # remainders tie: sklearn breaks them at random
    rng.shuffle(ties)
    cases["ties"] = ties
    cases["large"] = rng.choice(10, 1000, p=[.3, .2, .15, .1, .08, .06, .05, .03, .02, .01])
    return cases


def write(lines, key, values):
    lines.append(key + " " + " ".join(repr(v) if isinstance(v, float) else str(v) for v in values))


def split_references(lines):
    fractions = [0.2, 0.25, 0.3, 0.5, 0.7]
    for name, y in label_cases().items():
        y = np.asarray(y, dtype=np.int64)
        n, classes = len(y), int(y.max()) + 1
        present = np.unique(y)
        counts = np.bincount(y, minlength=classes)
        smallest = counts[present].min()
        write(lines, f"{name}.labels", y.tolist())
        write(lines, f"{name}.classes", [classes])
        x = np.zeros((n, 1))
        for k in (2, 3, 5):
            if k > smallest:
                continue  # strata refuses a class smaller than the fold count (sklearn only warns)
            for f, (train, test) in enumerate(StratifiedKFold(k).split(x, y)):
                assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
                write(lines, f"{name}.skf{k}.test{f}", test.tolist())
            shuffled = [np.bincount(y[test], minlength=classes).tolist()
                        for _, test in StratifiedKFold(k, shuffle=True, random_state=3).split(x, y)]
            write(lines, f"{name}.skf{k}.counts", sum(shuffled, []))
        for k in (3, 5):
            for f, (_, test) in enumerate(KFold(k).split(x)):
                write(lines, f"{name}.kfold{k}.test{f}", test.tolist())
        for i, p in enumerate(fractions):
            write(lines, f"{name}.tts{i}.fraction", [p])
            train, test = train_test_split(np.arange(n), test_size=p, random_state=0)
            write(lines, f"{name}.tts{i}.sizes", [len(train), len(test)])
            outcomes = set()
            try:
                for state in range(300):
                    train, test = train_test_split(np.arange(n), test_size=p, random_state=state, stratify=y)
                    outcomes.add(tuple(np.bincount(y[train], minlength=classes).tolist() +
                                       np.bincount(y[test], minlength=classes).tolist()))
            except ValueError:
                continue  # e.g. a class of one sample: strata refuses it too
            write(lines, f"{name}.tts{i}.outcome_count", [len(outcomes)])
            write(lines, f"{name}.tts{i}.outcomes", [v for o in sorted(outcomes) for v in o])
        over = RandomOverSampler(random_state=0)
        _, y_over = over.fit_resample(x, y)
        write(lines, f"{name}.over.counts", np.bincount(y_over, minlength=classes).tolist())
        write(lines, f"{name}.over.sample_indices", over.sample_indices_.tolist())
        under = RandomUnderSampler(random_state=0)
        _, y_under = under.fit_resample(x, y)
        write(lines, f"{name}.under.counts", np.bincount(y_under, minlength=classes).tolist())
        minority = present[np.argmin(counts[present])]
        write(lines, f"{name}.under.minority", under.sample_indices_[y[under.sample_indices_] == minority].tolist())


def grid_references(lines):
    grids = [
        {"lr": [0.1, 0.01, 0.001], "dropout": [0.0, 0.5]},
        {"weight_decay": [1e-4], "batch_size": [32.0, 64.0], "alpha": [1.0, 2.0, 3.0], "Beta": [0.5, 0.25]},
        {"only": [3.0, 1.0, 2.0]},
    ]
    for i, grid in enumerate(grids):
        write(lines, f"grid{i}.input_names", list(grid))
        for name, values in grid.items():
            write(lines, f"grid{i}.values.{name}", [float(v) for v in values])
        candidates = list(ParameterGrid(grid))
        names = sorted(grid)
        write(lines, f"grid{i}.sorted_names", names)
        write(lines, f"grid{i}.candidate_count", [len(candidates)])
        for j, c in enumerate(candidates):
            assert list(c) == names
            write(lines, f"grid{i}.candidate{j}", [float(c[k]) for k in names])


class TableScorer(BaseEstimator):
    """Scores candidate `a` on the fold whose test part it is given with table[a][fold]."""

    def __init__(self, a=0, table=None, test_fold=None):
        self.a, self.table, self.test_fold = a, table, test_fold

    def fit(self, x, y=None):
        return self

    def score(self, x, y=None):
        return self.table[self.a][self.test_fold[int(x[0, 0])]]


def rank_references(lines):
    nan = float("nan")
    tables = [
        [[0.5, 0.7, 0.6], [0.7, 0.5, 0.6], [0.2, 0.9, 0.4], [0.6, 0.6, 0.6], [0.1, 0.2, 0.3]],  # ties at the top
        [[0.3, nan, 0.5], [0.8, 0.1, 0.2], [0.4, 0.4, 0.4], [nan, nan, nan], [0.1, 0.2, 0.6]],  # NaN: worst, tied
        [[nan, 1.0], [nan, nan]],  # every mean NaN: all rank 1
        [[1.0, 3.0], [2.0, 2.0], [0.0, 4.0], [5.0, -1.0]],  # all tied
        np.random.default_rng(5).uniform(0.5, 1.0, (3, 10)).tolist(),  # 10 folds: numpy's pairwise sum
        np.random.default_rng(6).uniform(0.5, 1.0, (2, 17)).tolist(),
    ]
    for i, table in enumerate(tables):
        folds = len(table[0])
        test_fold = np.repeat(np.arange(folds), 2)
        x = np.arange(len(test_fold), dtype=float).reshape(-1, 1)
        search = GridSearchCV(TableScorer(table=table, test_fold=test_fold), {"a": list(range(len(table)))},
                              cv=PredefinedSplit(test_fold), refit=False, error_score="raise")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search.fit(x, np.zeros(len(x)))
        r = search.cv_results_
        write(lines, f"rank{i}.shape", [len(table), folds])
        write(lines, f"rank{i}.scores", [float(v) for row in table for v in row])
        write(lines, f"rank{i}.mean", [float(v) for v in r["mean_test_score"]])
        write(lines, f"rank{i}.std", [float(v) for v in r["std_test_score"]])
        write(lines, f"rank{i}.rank", [int(v) for v in r["rank_test_score"]])
        write(lines, f"rank{i}.best_index", [int(search.best_index_)])
        write(lines, f"rank{i}.best_score", [float(search.best_score_)])


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        split_references(lines)
    grid_references(lines)
    rank_references(lines)
    path = os.path.join(out, "reference.txt")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {len(lines)} split, grid and ranking references to {path}")


if __name__ == "__main__":
    main()
