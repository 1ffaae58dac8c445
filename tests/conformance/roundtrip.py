#!/usr/bin/python3
"""The PyTorch side of the Fashion-MNIST round trip (roundtrip_tool.cpp is the
strata side): loads the strata-trained model from DIR/from_strata into the
same network in PyTorch and checks its predictions on the 10,000 test images
against strata's; then trains a PyTorch model briefly and writes its weights
(PyTorch layout, strata's file names) and test logits to DIR/from_torch.

usage: roundtrip.py DIR
"""
import gzip
import os
import sys
import warnings

import numpy as np
import torch
from torch import nn

warnings.filterwarnings("ignore", message="Lazy modules")


def find_data():
    for base in filter(None, [os.environ.get("STRATA_DATA"), "/usr/share/datasets/fashion-mnist"]):
        for name in ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"):
            if os.path.exists(os.path.join(base, name)):
                return base
    sys.exit("roundtrip: Fashion-MNIST not found (install dataset-fashion-mnist or set STRATA_DATA)")


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load_split(base, prefix):
    def pick(name):
        return os.path.join(base, name + ".gz") if os.path.exists(os.path.join(base, name + ".gz")) \
            else os.path.join(base, name)
    images = read_idx(pick(f"{prefix}-images-idx3-ubyte")).astype(np.float32) / 255.0
    labels = read_idx(pick(f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels)


class NHWCFlatten(nn.Module):
    """Flattens in strata's (channels-last) order so dense weights carry over."""
    def forward(self, x):
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)


def reference_net():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        NHWCFlatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


# strata layer index -> torch module index in reference_net()
LAYERS = {0: ("conv2d", 0), 2: ("conv2d", 3), 5: ("dense", 7), 7: ("dense", 10)}


def predict(net, images):
    net.eval()
    with torch.no_grad():
        return torch.cat([net(images[i:i + 1000]) for i in range(0, len(images), 1000)])


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    torch.set_num_threads(2)
    base = find_data()
    test_x, _ = load_split(base, "t10k")

    # strata -> PyTorch
    net = reference_net()
    src = os.path.join(out, "from_strata")
    with torch.no_grad():
        for index, (kind, module) in LAYERS.items():
            layer = net[module]
            layer.weight.copy_(torch.from_numpy(np.load(os.path.join(src, f"{index}_{kind}.weight.npy"))))
            layer.bias.copy_(torch.from_numpy(np.load(os.path.join(src, f"{index}_{kind}.bias.npy"))))
    ours = predict(net, test_x)
    theirs = torch.from_numpy(np.load(os.path.join(src, "logits.npy")))
    same = (ours.argmax(1) == theirs.argmax(1)).sum().item()
    diff = (ours - theirs).abs().max().item()
    print(f"strata -> PyTorch: identical argmax on {same} of {len(ours)} test images "
          f"({100 * same / len(ours):.4f}%), max |logit difference| {diff:.3g}")
    ok = same >= 0.999 * len(ours)

    # PyTorch -> strata: a briefly trained PyTorch model and its logits
    torch.manual_seed(7)
    train_x, train_y = load_split(base, "train")
    net = reference_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    for i in range(0, 3000, 64):
        opt.zero_grad()
        nn.functional.cross_entropy(net(train_x[i:i + 64]), train_y[i:i + 64]).backward()
        opt.step()
    dst = os.path.join(out, "from_torch")
    os.makedirs(dst, exist_ok=True)
    for index, (kind, module) in LAYERS.items():
        layer = net[module]
        np.save(os.path.join(dst, f"{index}_{kind}.weight.npy"), layer.weight.detach().numpy())
        np.save(os.path.join(dst, f"{index}_{kind}.bias.npy"), layer.bias.detach().numpy())
    np.save(os.path.join(dst, "logits.npy"), predict(net, test_x).numpy())
    print(f"exported a PyTorch-trained model and its test logits to {dst}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
