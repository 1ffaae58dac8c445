#!/usr/bin/python3
"""The Fashion-MNIST example's twin in PyTorch (Debian's python3-torch): the
same network, Adam lr 1e-3, batch 64, PyTorch's default initialisation. It
prints one JSON line per seed with the test accuracy after each epoch, to
put strata's figures beside PyTorch's spread across seeds. --variant bn adds
batch normalization after each convolution (Keras' epsilon and momentum) and
a cosine decay of the rate to 0 over the run, as `fashion_mnist --variant bn`.

usage: benchmarks/fashion_mnist_pytorch.py [--variant reference|bn] [--epochs 5] [--seeds 1 2 3] [--threads 2]
"""
import argparse
import json
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "conformance"))
from roundtrip import NHWCFlatten, find_data, load_split, reference_net  # noqa: E402


def bn_net():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.BatchNorm2d(32, eps=1e-3, momentum=0.01), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), nn.MaxPool2d(2),
        NHWCFlatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variant", choices=["reference", "bn"], default="reference")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = find_data()
    train_x, train_y = load_split(base, "train")
    test_x, test_y = load_split(base, "t10k")
    for seed in args.seeds:
        torch.manual_seed(seed)
        net = reference_net() if args.variant == "reference" else bn_net()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        steps = args.epochs * ((len(train_x) + 63) // 64)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if args.variant == "bn" else None
        accuracies, start = [], time.perf_counter()
        for _ in range(args.epochs):
            net.train()
            order = torch.randperm(len(train_x))
            for i in range(0, len(order), 64):
                idx = order[i:i + 64]
                opt.zero_grad()
                nn.functional.cross_entropy(net(train_x[idx]), train_y[idx]).backward()
                opt.step()
                if schedule:
                    schedule.step()
            net.eval()
            with torch.no_grad():
                predicted = torch.cat([net(test_x[i:i + 1000]).argmax(1) for i in range(0, len(test_x), 1000)])
            accuracies.append(round((predicted == test_y).float().mean().item(), 4))
        print(json.dumps({"variant": args.variant, "seed": seed, "epochs": args.epochs, "test_accuracy_per_epoch": accuracies,
                          "seconds": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
