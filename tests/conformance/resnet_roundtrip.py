#!/usr/bin/python3
"""Loads the weights `resnet --save DIR` wrote (PyTorch layout, strata's path
names) into benchmarks/resnet_pytorch.py's ResNet and checks its logits for
the first test images against strata's (DIR/test_logits.npy): a ResNet
trained by strata is the same network in PyTorch.

usage: resnet_roundtrip.py DIR DEPTH
"""
import os
import sys

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "..", "benchmarks"))
from resnet_pytorch import ResNet  # noqa: E402
from roundtrip import find_data, load_split  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    directory, depth = sys.argv[1], int(sys.argv[2])
    net = ResNet(depth)
    files = {f[:-4] for f in os.listdir(directory) if f.endswith(".npy") and f != "test_logits.npy"}
    names = set()
    with torch.no_grad():
        for name, tensor in net.strata_tensors():
            names.add(name)
            if name not in files:
                sys.exit(f"resnet_roundtrip: strata wrote no {name}.npy")
            value = torch.from_numpy(np.load(os.path.join(directory, name + ".npy")))
            if value.shape != tensor.shape:
                sys.exit(f"resnet_roundtrip: {name} has shape {tuple(value.shape)}, PyTorch {tuple(tensor.shape)}")
            tensor.copy_(value)
    if files != names:
        sys.exit(f"resnet_roundtrip: files PyTorch's ResNet has no tensor for: {sorted(files - names)}")
    expected = np.load(os.path.join(directory, "test_logits.npy"))
    test_x, _ = load_split(find_data(), "t10k")
    net.eval()
    with torch.no_grad():
        got = net(test_x[:len(expected)]).numpy()
    error = np.abs(got - expected).max() / max(np.abs(expected).max(), 1.0)
    agree = (got.argmax(1) == expected.argmax(1)).mean()
    print(f"resnet_roundtrip: {len(names)} tensors; logits of {len(expected)} test images agree to {error:.2e} "
          f"(relative), predicted classes agree on {agree:.4f}")
    if not (error <= 1e-4 and agree == 1.0):
        sys.exit("resnet_roundtrip: PyTorch's predictions differ from strata's")


if __name__ == "__main__":
    main()
