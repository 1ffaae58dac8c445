#!/usr/bin/python3
"""The segmentation example's U-Net in PyTorch (Debian's python3-torch), on
the same canvases: `segmentation --save-data DIR` writes them as .npy files,
the training canvases of every epoch one epoch after the other (the example
trains on fresh canvases each epoch), so epoch e here trains on slice e.

The same network: levels of two 3x3 convolutions ("same" padding), each
followed by ReLU then batch norm (Keras' momentum 0.99, i.e. PyTorch's 0.01,
epsilon 1e-3), 2x2 max pooling down, nearest 2x upsampling back up and the
skip connection concatenated before the upsampled features (strata's
skip_concat order), a 1x1 convolution to 11 scores per pixel. Adam, batch 32,
per-pixel cross-entropy, the rate falling along a cosine to 5% over the
run, PyTorch's default initialisation. Prints one JSON
line: test pixel accuracy, mean IoU over the classes present, foreground IoU,
the IoU per class, training seconds and images per second.

usage: benchmarks/segmentation_pytorch.py DIR [--epochs 8] [--lr 2e-3] [--threads 2]
                                             [--widths 8,16,32,64] [--seed 42]
       benchmarks/segmentation_pytorch.py DIR --time-steps 20 [--repetitions 5]
           (training steps of batch 32 only: images/s per repetition and the median)
"""
import argparse
import json
import math
import os
import statistics
import time

import numpy as np
import torch
from torch import nn


def double_conv(inputs, filters):
    return nn.Sequential(
        nn.Conv2d(inputs, filters, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(filters, eps=1e-3, momentum=0.01),
        nn.Conv2d(filters, filters, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(filters, eps=1e-3, momentum=0.01))


class Level(nn.Module):
    """skip_concat<max_pool<2>, down, [inner], up, upsample<2>>: concat(x, f(x))."""

    def __init__(self, inputs, filters, inner, inner_outputs):
        super().__init__()
        self.down = double_conv(inputs, filters)
        self.inner = inner
        self.up = double_conv(inner_outputs, filters) if inner is not None else None

    def forward(self, x):
        y = self.down(nn.functional.max_pool2d(x, 2))
        if self.inner is not None:
            y = self.up(self.inner(y))
        return torch.cat([x, nn.functional.interpolate(y, scale_factor=2, mode="nearest")], dim=1)


class UNet(nn.Module):
    def __init__(self, widths, classes=11):
        super().__init__()
        inner, inner_out = None, 0
        for k in range(len(widths) - 1, 0, -1):  # innermost level first
            inner = Level(widths[k - 1], widths[k], inner, inner_out)
            inner_out = widths[k - 1] + widths[k]
        self.first = double_conv(1, widths[0])
        self.levels = inner
        self.last = double_conv(widths[0] + widths[1], widths[0])
        self.scores = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        return self.scores(self.last(self.levels(self.first(x))))


def load(directory, name):
    x = np.load(os.path.join(directory, name + "_x.npy"))  # N, H, W, 1
    y = np.load(os.path.join(directory, name + "_y.npy"))  # N, H * W
    n, h, w, _ = x.shape
    return (torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))),
            torch.from_numpy(y.reshape(n, h, w).astype(np.int64)))


def confusion(model, x, y, classes=11):
    model.eval()
    m = torch.zeros(classes, classes, dtype=torch.int64)
    with torch.no_grad():
        for i in range(0, len(x), 256):
            pred = model(x[i:i + 256]).argmax(1).flatten()
            m += torch.bincount(y[i:i + 256].flatten() * classes + pred, minlength=classes * classes).reshape(
                classes, classes)
    return m.double()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--widths", default="8,16,32,64")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--time-steps", type=int, default=0)
    ap.add_argument("--repetitions", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    widths = [int(w) for w in a.widths.split(",")]
    model = UNet(widths)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    loss_fn = nn.CrossEntropyLoss()
    x, y = load(a.dir, "train")

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    if a.time_steps:
        model.train()
        xb, yb = x[:32], y[:32]
        step(xb, yb)
        rates = []
        for _ in range(a.repetitions):
            t = time.perf_counter()
            for _ in range(a.time_steps):
                step(xb, yb)
            rates.append(32 * a.time_steps / (time.perf_counter() - t))
        print(json.dumps({"images_per_second": rates, "median": statistics.median(rates),
                          "threads": a.threads, "widths": widths, "parameters": params}))
        return

    g = torch.Generator().manual_seed(a.seed)
    seconds = 0.0
    per_epoch = len(x) // a.epochs
    # Keras' CosineDecay to 5% over every step of the run, as the example.
    total = a.epochs * ((per_epoch + 31) // 32)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, total) / total)) + 0.05)
    for e in range(a.epochs):
        model.train()
        t = time.perf_counter()
        for idx in (torch.randperm(per_epoch, generator=g) + e * per_epoch).split(32):
            step(x[idx], y[idx])
            schedule.step()
        seconds += time.perf_counter() - t
    tx, ty = load(a.dir, "test")
    m = confusion(model, tx, ty)
    tp = m.diag()
    union = m.sum(0) + m.sum(1) - tp
    iou = torch.where(union > 0, tp / union.clamp(min=1), torch.tensor(float("nan")))
    fg_tp = m[1:, 1:].sum()
    fg_iou = fg_tp / (fg_tp + m[0, 1:].sum() + m[1:, 0].sum())
    print(json.dumps({"parameters": params, "epochs": a.epochs, "train_seconds": seconds,
                      "images_per_second": a.epochs * per_epoch / seconds,
                      "pixel_accuracy": (tp.sum() / m.sum()).item(),
                      "mean_iou": float(np.nanmean(iou.numpy())), "foreground_iou": fg_iou.item(),
                      "class_iou": [round(v, 6) for v in iou.tolist()], "threads": a.threads,
                      "widths": widths}))


if __name__ == "__main__":
    main()
