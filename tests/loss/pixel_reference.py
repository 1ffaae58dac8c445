"""PyTorch's per-pixel cross-entropy (F.cross_entropy on N x C x H x W
logits, with weight= and ignore_index=) image by image, averaged over the
images, and its gradient, for the pixel_crossentropy conformance test; the
same for pixel_binary_crossentropy (F.binary_cross_entropy(_with_logits)),
and for dice and jaccard written in torch ops (bce_* and overlap_* files).

Usage: pixel_reference.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(3)
H, W, C, N = 5, 6, 4, 3
cases = [
    # name, weights, ignore, from_logits
    ("plain", None, None, True),
    ("weighted_ignored", [0.5, 2.0, 1.0, 3.0], 255, True),
    ("probabilities", None, None, False),
    ("all_ignored_image", [1.0, 1.0, 2.0, 0.5], 255, True),
]
with open(os.path.join(out, "cases.txt"), "w") as index:
    for k, (name, weights, ignore, from_logits) in enumerate(cases):
        scores = torch.randn(N, H, W, C, dtype=torch.float64) * 2
        labels = torch.randint(0, C, (N, H, W))
        if ignore is not None:
            labels[torch.rand(N, H, W) < 0.25] = ignore
        if name == "all_ignored_image":
            labels[1] = ignore
        if not from_logits:
            scores = torch.softmax(scores, -1)
        scores.requires_grad_(True)
        w = torch.tensor(weights, dtype=torch.float64) if weights else None
        per_image = []
        for i in range(N):
            if ignore is not None and bool((labels[i] == ignore).all()):
                per_image.append(scores[i].sum() * 0)  # nothing counted: no loss, no gradient
                continue
            if from_logits:
                logits = scores[i:i + 1].permute(0, 3, 1, 2).contiguous()
                kw = {"weight": w} if w is not None else {}
                if ignore is not None:
                    kw["ignore_index"] = ignore
                per_image.append(F.cross_entropy(logits, labels[i:i + 1], **kw))
            else:
                logp = torch.log(scores[i].clamp(1e-7, 1 - 1e-7)).permute(2, 0, 1).unsqueeze(0).contiguous()
                per_image.append(F.nll_loss(logp, labels[i:i + 1]))
        loss = torch.stack(per_image).mean()
        loss.backward()
        np.save(os.path.join(out, f"scores{k}.npy"), scores.detach().reshape(N, -1).numpy().astype(np.float32))
        np.save(os.path.join(out, f"labels{k}.npy"), labels.reshape(N, -1).numpy().astype(np.float32))
        np.save(os.path.join(out, f"grad{k}.npy"), scores.grad.reshape(N, -1).numpy().astype(np.float32))
        wtext = ",".join(str(x) for x in weights) if weights else "-"
        index.write(f"{k} {name} {int(from_logits)} {ignore if ignore is not None else -1} {wtext} {loss.item()!r}\n")
        if name == "plain":  # no weights, nothing ignored: PyTorch's batch mean is the same
            batch = F.cross_entropy(scores.detach().permute(0, 3, 1, 2), labels)
            assert abs(batch.item() - loss.item()) < 1e-12


def as_float32(x):
    """The values the C++ test reads back (float32), as float64 again, so both sides start equal."""
    return x.to(torch.float32).to(torch.float64)


def save(prefix, k, **arrays):
    for key, value in arrays.items():
        np.save(os.path.join(out, f"{prefix}_{key}{k}.npy"), value.detach().reshape(N, -1).numpy().astype(np.float32))


# pixel_binary_crossentropy: F.binary_cross_entropy(_with_logits) per value,
# times the channel's weight, summed over the counted values and divided by
# their number, per image; the batch averages the images.
BC = 3
bce_cases = [
    # name, weights, ignore, from_logits
    ("plain", None, None, True),
    ("weighted_ignored", [0.5, 2.0, 1.0], 255.0, True),
    ("probabilities", None, None, False),
    ("all_ignored_image", [1.0, 3.0, 0.25], 255.0, True),
]
with open(os.path.join(out, "bce_cases.txt"), "w") as index:
    for k, (name, weights, ignore, from_logits) in enumerate(bce_cases):
        scores = as_float32(torch.randn(N, H, W, BC, dtype=torch.float64) * 2)
        targets = (torch.rand(N, H, W, BC) < 0.4).to(torch.float64)
        if name != "plain":  # soft targets too
            soft = torch.rand(N, H, W, BC) < 0.3
            targets[soft] = as_float32(torch.rand(N, H, W, BC, dtype=torch.float64))[soft]
        if ignore is not None:
            targets[torch.rand(N, H, W, BC) < 0.25] = ignore
        if name == "all_ignored_image":
            targets[1] = ignore
        if not from_logits:
            scores = as_float32(torch.sigmoid(scores))
            scores[0, 0, 0, 0], scores[0, 1, 2, 1], scores[2, 4, 5, 2] = 0.0, 1.0, 0.0  # clipped: no gradient
        scores.requires_grad_(True)
        w = torch.tensor(weights if weights else [1.0] * BC, dtype=torch.float64)
        counted = torch.ones_like(targets) if ignore is None else (targets != ignore).to(torch.float64)
        t = targets * counted  # ignored values become 0 so they stay finite, then count for nothing
        if from_logits:
            per_value = F.binary_cross_entropy_with_logits(scores, t, reduction="none")
        else:
            per_value = F.binary_cross_entropy(scores.clamp(1e-7, 1 - 1e-7), t, reduction="none")
        per_image = []
        for i in range(N):
            n_counted = counted[i].sum()
            if n_counted == 0:
                per_image.append(scores[i].sum() * 0)  # nothing counted: no loss, no gradient
                continue
            per_image.append((per_value[i] * w * counted[i]).sum() / n_counted)
        loss = torch.stack(per_image).mean()
        loss.backward()
        save("bce", k, scores=scores, targets=targets, grad=scores.grad)
        wtext = ",".join(str(x) for x in weights) if weights else "-"
        index.write(f"{k} {name} {int(from_logits)} {ignore if ignore is not None else -1} {wtext} {loss.item()!r}\n")
        if ignore is None and from_logits:  # PyTorch's own mean with weight= on each image is the same
            for i in range(N):
                ref = torch.nn.BCEWithLogitsLoss(weight=w)(scores[i].detach(), targets[i])
                assert abs(ref.item() - per_image[i].item()) < 1e-12


# dice and jaccard: the soft scores written in torch ops, gradients by autograd.
OC = 4


def overlap_loss(kind, p, t, counted, w, smooth):
    """One image: p, t, counted are (pixels, channels)."""
    inter = (p * t * counted).sum(0)
    mass = ((p + t) * counted).sum(0)
    if kind == "dice":
        score = (2 * inter + smooth) / (mass + smooth)
    else:
        score = (inter + smooth) / (mass - inter + smooth)
    return 1 - (w * score).sum() / w.sum()


overlap_cases = [
    # name, mode, weights, ignore, from_logits, smooth
    ("classes_plain", "classes", None, None, True, 1.0),
    ("classes_weighted_ignored", "classes", [0.5, 2.0, 1.0, 3.0], 255, True, 1.0),
    ("classes_probabilities", "classes", None, None, False, 0.5),
    ("classes_all_ignored_image", "classes", [1.0, 1.0, 2.0, 0.0], 255, True, 1.0),
    ("masks_plain", "masks", None, None, True, 1.0),
    ("masks_weighted_ignored", "masks", [0.5, 2.0, 1.0, 3.0], 255, True, 2.0),
    ("masks_probabilities", "masks", None, None, False, 1.0),
    ("masks_all_ignored_image", "masks", None, 255, True, 1.0),
]
with open(os.path.join(out, "overlap_cases.txt"), "w") as index:
    k = 0
    for kind in ("dice", "jaccard"):
        for name, mode, weights, ignore, from_logits, smooth in overlap_cases:
            scores = as_float32(torch.randn(N, H, W, OC, dtype=torch.float64) * 2)
            if mode == "classes":
                labels = torch.randint(0, OC, (N, H, W))
                if ignore is not None:
                    labels[torch.rand(N, H, W) < 0.25] = ignore
                if "all_ignored" in name:
                    labels[1] = ignore
                counted = (labels != ignore if ignore is not None else torch.ones_like(labels, dtype=torch.bool))
                counted = counted.unsqueeze(-1).expand(N, H, W, OC).to(torch.float64)
                onehot = F.one_hot(torch.where(labels == ignore, 0, labels) if ignore is not None else labels, OC)
                t, targets = onehot.to(torch.float64) * counted, labels.to(torch.float64)
                if not from_logits:
                    scores = as_float32(torch.softmax(scores, -1))
            else:
                targets = (torch.rand(N, H, W, OC) < 0.4).to(torch.float64)
                if name != "masks_plain":
                    soft = torch.rand(N, H, W, OC) < 0.3
                    targets[soft] = as_float32(torch.rand(N, H, W, OC, dtype=torch.float64))[soft]
                if ignore is not None:
                    targets[torch.rand(N, H, W, OC) < 0.25] = float(ignore)
                if "all_ignored" in name:
                    targets[1] = float(ignore)
                counted = torch.ones_like(targets) if ignore is None else (targets != ignore).to(torch.float64)
                t = targets * counted
                if not from_logits:
                    scores = as_float32(torch.sigmoid(scores))
            scores.requires_grad_(True)
            if from_logits:
                p = torch.softmax(scores, -1) if mode == "classes" else torch.sigmoid(scores)
            else:
                p = scores
            w = torch.tensor(weights if weights else [1.0] * OC, dtype=torch.float64)
            per_image = []
            for i in range(N):
                if counted[i].sum() == 0:
                    per_image.append(scores[i].sum() * 0)  # nothing counted: no loss, no gradient
                    continue
                per_image.append(overlap_loss(kind, p[i].reshape(-1, OC), t[i].reshape(-1, OC),
                                              counted[i].reshape(-1, OC), w, smooth))
            loss = torch.stack(per_image).mean()
            loss.backward()
            save("overlap", k, scores=scores, targets=targets, grad=scores.grad)
            wtext = ",".join(str(x) for x in weights) if weights else "-"
            index.write(f"{k} {kind} {name} {mode} {int(from_logits)} {ignore if ignore is not None else -1} "
                        f"{wtext} {smooth!r} {loss.item()!r}\n")
            k += 1
