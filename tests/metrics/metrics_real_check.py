#!/usr/bin/python3
"""Checks strata's metrics of a trained Fashion-MNIST classifier (written by
the metrics test into DIR/real) against sklearn's on the same logits.

usage: metrics_real_check.py DIR
"""
import os
import sys

import numpy as np
from sklearn import metrics


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = os.path.join(sys.argv[1], "real")
    logits = np.load(os.path.join(d, "logits.npy"))
    labels = np.load(os.path.join(d, "labels.npy")).ravel().astype(np.int64)
    predicted = logits.argmax(axis=1)
    classes = np.arange(10)
    p, r, f, _ = metrics.precision_recall_fscore_support(labels, predicted, labels=classes, zero_division=0)
    expected_per_class = np.stack([p, r, f])
    summary = [metrics.accuracy_score(labels, predicted)]
    for average in ("macro", "weighted"):
        summary += metrics.precision_recall_fscore_support(labels, predicted, labels=classes, average=average,
                                                           zero_division=0)[:3]
    summary.append(metrics.top_k_accuracy_score(labels, logits, k=3, labels=classes))
    worst = max(np.abs(np.load(os.path.join(d, "per_class.npy")) - expected_per_class).max(),
                np.abs(np.load(os.path.join(d, "summary.npy")) - np.array(summary)).max())
    with open(os.path.join(d, "report.txt")) as f:
        report = f.read()
    expected_report = metrics.classification_report(labels, predicted, labels=classes, zero_division=0)
    if worst > 1e-12 or report != expected_report:
        sys.exit(f"strata and sklearn differ: largest difference {worst}\nstrata:\n{report}\nsklearn:\n{expected_report}")
    print(f"strata's metrics equal sklearn's on {len(labels)} real predictions (largest difference {worst:.1e})")
    print(report)


if __name__ == "__main__":
    main()
