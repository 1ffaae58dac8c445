#!/usr/bin/python3
"""PyTorch -> ONNX -> strata (test_onnx's "PyTorch" case is the strata side):
builds strata's reference network in PyTorch (NCHW, PyTorch's own
channel-first Flatten), exports it with torch.onnx.export at opset 13 to
DIR/torch_reference.onnx, writes its logits for the first 1,000 Fashion-MNIST
test images to DIR/torch_logits.npy (and in float64 to torch_logits64.npy), then checks that strata-onnx prints the
strata type expected for it.

usage: torch_export.py DIR STRATA_ONNX   (exit 77: onnx missing)
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "conformance"))
from roundtrip import find_data, load_split  # noqa: E402

EXPECTED = ("strata::sequential<strata::input<28, 28, 1>, strata::conv2d<32, 3, strata::relu>, "
            "strata::max_pool<2>, strata::conv2d<64, 3, strata::relu>, strata::max_pool<2>, strata::flatten, "
            "strata::dense<128, strata::relu>, strata::dense<10>>")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError:
        print("torch_export: skipped, python3-onnx is not installed")
        sys.exit(77)
    out, tool = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20)
    torch.set_num_threads(2)
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.5),
                        nn.Linear(128, 10))
    with torch.no_grad():  # biases away from PyTorch's small defaults, so they matter
        for m in net:
            if hasattr(m, "bias") and m.bias is not None:
                m.bias.uniform_(-0.5, 0.5)
    net.eval()
    test_x, _ = load_split(find_data(), "t10k")
    x = test_x[:1000]
    path = os.path.join(out, "torch_reference.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, x[:1], path, opset_version=13, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    with torch.no_grad():
        np.save(os.path.join(out, "torch_logits.npy"), net(x).numpy())
        # float64: how far float32 rounding alone takes PyTorch's own logits
        np.save(os.path.join(out, "torch_logits64.npy"), net.double()(x.double()).numpy())
    printed = subprocess.run([tool, path], capture_output=True, text=True)
    print(f"strata-onnx {path}:\n{printed.stdout}{printed.stderr}", end="")
    if printed.returncode != 0 or printed.stdout.strip() != EXPECTED:
        sys.exit(f"torch_export: strata-onnx printed a different type; expected\n{EXPECTED}")
    print("torch_export: strata-onnx prints the expected type")


if __name__ == "__main__":
    main()
