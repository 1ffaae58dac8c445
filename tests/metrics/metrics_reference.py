#!/usr/bin/python3
"""Writes sklearn's results on random predictions for strata's metric tests:
a 7-class problem (one class never predicted, so zero_division matters),
a binary one with tied scores, and a regression one. float64 .npy files and
classification_report texts in OUT_DIR.

usage: metrics_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
from sklearn import metrics


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    save = lambda name, a: np.save(os.path.join(out, name + ".npy"), np.asarray(a, dtype=np.float64))
    rng = np.random.default_rng(11)

    n, classes = 500, 7
    scores = rng.normal(size=(n, classes))
    scores[:, 6] -= 10  # class 6 is never predicted: its precision is 0/0
    labels = rng.integers(0, classes, n)
    predicted = scores.argmax(axis=1)
    all_classes = np.arange(classes)
    save("multi_scores", scores)
    save("multi_labels", labels)
    save("multi_confusion", metrics.confusion_matrix(labels, predicted, labels=all_classes))
    p, r, f, s = metrics.precision_recall_fscore_support(labels, predicted, labels=all_classes, zero_division=0)
    save("multi_precision", p)
    save("multi_recall", r)
    save("multi_f1", f)
    save("multi_support", s)
    for average in ("macro", "weighted"):
        p, r, f, _ = metrics.precision_recall_fscore_support(labels, predicted, labels=all_classes,
                                                             average=average, zero_division=0)
        save(f"multi_{average}", [p, r, f])
    save("multi_accuracy", [metrics.accuracy_score(labels, predicted)])
    save("multi_top_k", [metrics.top_k_accuracy_score(labels, scores, k=k, labels=all_classes) for k in (1, 2, 3, 5)])
    names = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "a longer class name"]
    with open(os.path.join(out, "multi_report_2.txt"), "w") as f:
        f.write(metrics.classification_report(labels, predicted, labels=all_classes, zero_division=0))
    with open(os.path.join(out, "multi_report_named_4.txt"), "w") as f:
        f.write(metrics.classification_report(labels, predicted, labels=all_classes, target_names=names, digits=4,
                                              zero_division=0))

    m = 300
    binary_scores = np.round(rng.uniform(size=m), 1)  # ten distinct values: many ties
    binary_labels = (rng.uniform(size=m) < 0.3 + 0.5 * binary_scores).astype(np.int64)
    save("binary_scores", binary_scores)
    save("binary_labels", binary_labels)
    save("binary_auc", [metrics.roc_auc_score(binary_labels, binary_scores)])
    save("binary_confusion", metrics.confusion_matrix(binary_labels, (binary_scores > 0.5).astype(int), labels=[0, 1]))

    regression_targets = rng.normal(size=(200, 3))
    regression_outputs = regression_targets + rng.normal(scale=0.3, size=(200, 3))
    save("regression_targets", regression_targets)
    save("regression_outputs", regression_outputs)
    save("regression_errors", [metrics.mean_absolute_error(regression_targets, regression_outputs),
                               metrics.mean_squared_error(regression_targets, regression_outputs)])
    print(f"wrote the metric references to {out}")


if __name__ == "__main__":
    main()
