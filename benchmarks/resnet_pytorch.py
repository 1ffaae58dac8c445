#!/usr/bin/python3
"""The resnet example's twin in PyTorch (Debian's python3-torch): the same
ResNet (3x3 conv 16, three stages of basic blocks with 16/32/64 filters,
projection shortcuts where a block strides, global average pooling, dense 10;
TensorFlow's "same" padding, as strata's;
batch norm with strata's epsilon 1e-3 and PyTorch's momentum 0.1, as the
example sets), random 28x28 crops of the image padded with 4 zero pixels and
horizontal flips, SGD with Nesterov momentum 0.9 and weight decay 5e-4, the
rate decaying from 0.1 to 0 along a cosine over every step, batch 128.
PyTorch's default initialisation. Prints one JSON line per seed with the test
accuracy and seconds of each epoch; the last epoch's accuracy is the result.

usage: benchmarks/resnet_pytorch.py [--depth 20] [--epochs 30] [--seeds 1] [--threads 2] [--limit N]
       benchmarks/resnet_pytorch.py --time-steps 20 [--repetitions 5]  (training steps of batch 128 on
       random images, no augmentation: images/s per repetition and the median, as one JSON line)
"""
import argparse
import json
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "conformance"))
from roundtrip import find_data, load_split  # noqa: E402


def batch_norm(channels):
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.1)


class BasicBlock(nn.Module):
    def __init__(self, inputs, filters, stride):
        super().__init__()
        # strata's (and Keras') "same" padding puts the odd pixel of a strided
        # convolution's padding last; PyTorch's padding=1 would centre it.
        self.pad1 = nn.ZeroPad2d((0, 1, 0, 1) if stride == 2 else (1, 1, 1, 1))
        self.conv1 = nn.Conv2d(inputs, filters, 3, stride=stride, bias=False)
        self.bn1 = batch_norm(filters)
        self.conv2 = nn.Conv2d(filters, filters, 3, padding=1, bias=False)
        self.bn2 = batch_norm(filters)
        self.shortcut = None
        if stride != 1 or inputs != filters:
            self.shortcut = nn.Sequential(nn.Conv2d(inputs, filters, 1, stride=stride, bias=False),
                                          batch_norm(filters))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(self.pad1(x))))))
        return torch.relu(y + (self.shortcut(x) if self.shortcut is not None else x))


class ResNet(nn.Module):
    def __init__(self, depth, classes=10):
        super().__init__()
        blocks = (depth - 2) // 6
        self.conv = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn = batch_norm(16)
        stages, inputs = [], 16
        for filters, stride in ((16, 1), (32, 2), (64, 2)):
            stage = [BasicBlock(inputs, filters, stride)] + [BasicBlock(filters, filters, 1)
                                                              for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*stage))
            inputs = filters
        self.stages = nn.ModuleList(stages)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        for stage in self.stages:
            x = stage(x)
        return self.fc(x.mean(dim=(2, 3)))

    def strata_tensors(self):
        """(strata file name in the PyTorch layout, tensor) for every tensor, as
        strata's save_weights names models::resnet's: 3_chain.0_residual.0_conv2d.weight."""
        def bn(path, m):
            for name in ("weight", "bias", "running_mean", "running_var"):
                yield f"{path}.{name}", getattr(m, name)
        yield "0_conv2d.weight", self.conv.weight
        yield from bn("1_batch_norm", self.bn)
        for s, stage in enumerate(self.stages):
            for b, block in enumerate(stage):
                path = f"{3 + s}_chain.{2 * b}_residual"
                yield f"{path}.0_conv2d.weight", block.conv1.weight
                yield from bn(f"{path}.1_batch_norm", block.bn1)
                yield f"{path}.3_conv2d.weight", block.conv2.weight
                yield from bn(f"{path}.4_batch_norm", block.bn2)
                if block.shortcut is not None:
                    yield f"{path}.5_shortcut.0_conv2d.weight", block.shortcut[0].weight
                    yield from bn(f"{path}.5_shortcut.1_batch_norm", block.shortcut[1])
        yield "7_dense.weight", self.fc.weight
        yield "7_dense.bias", self.fc.bias


def random_crop_flip(images, gen):
    """Crops of the images padded by 4 zero pixels, half of them flipped."""
    n, _, h, w = images.shape
    padded = nn.functional.pad(images, (4, 4, 4, 4))[:, 0]
    rows = torch.randint(0, 9, (n, 1), generator=gen) + torch.arange(h)
    cols = torch.randint(0, 9, (n, 1), generator=gen) + torch.arange(w)
    flip = torch.rand(n, generator=gen) < 0.5
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    return padded[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def time_steps(args):
    """What strata_bench's BM_train_step_resnet20/128 measures, in PyTorch."""
    torch.manual_seed(1)
    net = ResNet(args.depth)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x, y = torch.rand(128, 1, 28, 28), torch.arange(128) % 10
    net.train()

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    for _ in range(3):
        step()
    rates = []
    for _ in range(args.repetitions):
        start = time.perf_counter()
        for _ in range(args.time_steps):
            step()
        rates.append(128 * args.time_steps / (time.perf_counter() - start))
    print(json.dumps({"framework": "pytorch", "depth": args.depth, "threads": args.threads, "batch": 128,
                      "images_per_second": rates, "median": sorted(rates)[len(rates) // 2]}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", type=int, choices=[8, 14, 20], default=20)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--time-steps", type=int, default=0)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.time_steps:
        time_steps(args)
        return
    base = find_data()
    train_x, train_y = load_split(base, "train")
    test_x, test_y = load_split(base, "t10k")
    if args.limit:
        train_x, train_y = train_x[:args.limit], train_y[:args.limit]
    batch = 128
    for seed in args.seeds:
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        net = ResNet(args.depth)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        steps = args.epochs * ((len(train_x) + batch - 1) // batch)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        accuracies, seconds = [], []
        for _ in range(args.epochs):
            start = time.perf_counter()
            net.train()
            order = torch.randperm(len(train_x), generator=gen)
            for i in range(0, len(order), batch):
                idx = order[i:i + batch]
                opt.zero_grad()
                nn.functional.cross_entropy(net(random_crop_flip(train_x[idx], gen)), train_y[idx]).backward()
                opt.step()
                schedule.step()
            seconds.append(time.perf_counter() - start)
            net.eval()
            with torch.no_grad():
                correct = sum((net(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum().item()
                              for i in range(0, len(test_x), 1000))
            accuracies.append(correct / len(test_x))
            print(f"seed {seed} epoch {len(accuracies)}: test accuracy {accuracies[-1]:.4f} "
                  f"({seconds[-1]:.1f} s)", file=sys.stderr, flush=True)
        print(json.dumps({"framework": "pytorch", "depth": args.depth, "seed": seed, "epochs": args.epochs,
                          "test_accuracy": accuracies[-1], "accuracy_per_epoch": accuracies,
                          "train_seconds_per_epoch": seconds, "threads": args.threads,
                          "parameters": sum(t.numel() for _, t in net.strata_tensors())}), flush=True)


if __name__ == "__main__":
    main()
