"""Per-pixel scores and labels for the segmentation-metric test, with
sklearn's jaccard_score, f1_score and accuracy_score over every pixel.

Usage: segmentation_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, jaccard_score

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(11)
with open(os.path.join(out, "cases.txt"), "w") as index:
    for case, (n, h, w, c) in enumerate([(6, 5, 7, 4), (3, 8, 8, 11), (2, 4, 4, 2), (4, 6, 5, 6)]):
        scores = rng.normal(size=(n, h, w, c)).astype(np.float32)
        labels = rng.integers(0, c, size=(n, h, w))
        if case == 1:
            labels[labels == 3] = 0           # a class absent from the targets
            scores[..., 5] -= 100.0          # and one never predicted
        if case == 3:
            labels[:] = np.where(rng.random((n, h, w)) < 0.7, 0, labels)  # mostly background
        pred = scores.argmax(-1).ravel()
        truth = labels.ravel()
        np.save(os.path.join(out, f"scores{case}.npy"), scores.reshape(n, -1))
        np.save(os.path.join(out, f"labels{case}.npy"), labels.reshape(n, -1).astype(np.float32))
        present = np.union1d(truth, pred)
        per_class = jaccard_score(truth, pred, labels=present, average=None, zero_division=0)
        iou = np.full(c, np.nan)
        iou[present] = per_class
        fg = jaccard_score(truth != 0, pred != 0)
        values = [accuracy_score(truth, pred), jaccard_score(truth, pred, average="macro"),
                  f1_score(truth, pred, average="macro"), fg] + list(iou)
        index.write(f"{case} {n} {h} {w} {c} " + " ".join(repr(float(v)) for v in values) + "\n")
