"""PyTorch's per-pixel cross-entropy (F.cross_entropy on N x C x H x W
logits, with weight= and ignore_index=) image by image, averaged over the
images, and its gradient, for the pixel_crossentropy conformance test.

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
