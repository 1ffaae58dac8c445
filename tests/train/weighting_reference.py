#!/usr/bin/python3
"""Writes the references for strata's class and sample weighting tests:
PyTorch's per-sample cross-entropy (reduction='none') reduced the Keras way,
sum(w_i loss_i) / N, with its gradients; PyTorch's own weighted mean
(CrossEntropyLoss(weight=w): sum(w_i loss_i) / sum(w_i)); and sklearn's
compute_class_weight('balanced'). All float64 .npy files in OUT_DIR.

usage: weighting_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    save = lambda name, a: np.save(os.path.join(out, name + ".npy"), np.asarray(a, dtype=np.float64))

    rng = np.random.default_rng(7)
    n, classes = 40, 5
    x = rng.normal(size=(n, classes))
    labels = np.concatenate([np.arange(classes), rng.choice(classes, n - classes, p=[.5, .2, .15, .1, .05])])
    rng.shuffle(labels)
    class_weight = rng.uniform(0.2, 3.0, classes)
    sample_weight = rng.uniform(0.0, 2.0, n)

    # A dense layer with identity weights: its outputs are x, its gradients are those of the logits.
    kernel = torch.eye(classes, dtype=torch.float64, requires_grad=True)  # strata's (in, out)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(labels)
    logits = torch.tensor(x) @ kernel + bias
    per_sample = F.cross_entropy(logits, y, reduction="none")
    w = torch.tensor(sample_weight) * torch.tensor(class_weight)[y]
    keras = (w * per_sample).sum() / n
    keras.backward()
    save("x", x)
    save("labels", labels)
    save("class_weight", class_weight)
    save("sample_weight", sample_weight)
    save("keras_loss", [keras.item()])
    save("kernel_grad", kernel.grad)
    save("bias_grad", bias.grad)
    with torch.no_grad():
        class_only = (torch.tensor(class_weight)[y] * per_sample).sum() / n
        torch_mean = F.cross_entropy(logits, y, weight=torch.tensor(class_weight))
    save("keras_class_only_loss", [class_only.item()])
    save("torch_weighted_mean_loss", [torch_mean.item()])
    save("sklearn_balanced", compute_class_weight("balanced", classes=np.arange(classes), y=labels))
    print(f"wrote the weighting references to {out}")


if __name__ == "__main__":
    main()
