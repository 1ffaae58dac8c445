#!/usr/bin/python3
"""Writes PyTorch reference results for strata's conformance tests.

Each case mirrors a strata network (tests/conformance/conformance.cpp names the
same cases): random float64 weights and inputs, then the outputs, the loss,
every parameter gradient, the input gradient and the parameters after 10
steps of SGD with momentum, Nesterov and Adam, all as .npy in strata's
layouts (NHWC activations, conv weights [kh][kw][in][out], dense [in][out]).

usage: generate.py OUT_DIR
"""
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
warnings.filterwarnings("ignore", message="Lazy modules")
BATCH = 4
EPS = 1e-7  # Keras' (and strata's) clipping of probabilities

ACTIVATIONS = {
    "identity": lambda x: x,
    "relu": F.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
    "elu": lambda x: F.elu(x, 1.0),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, dim=1),  # NCHW channels or flat features: dim 1 both ways
}

# (name, input HWC or (features,), layers, loss); layer tuples:
#   ("conv", filters, kernel, activation, padding, stride, bias)
#   ("dense", units, activation, bias)
#   ("max_pool", pool, stride) ("avg_pool", pool, stride) ("gap",) ("gmp",) ("flatten",) ("act", name)
#   ("up", factor, "nearest" or "bilinear") ("zpad", padding)
#   ("bn",): batch normalization with Keras' epsilon 1e-3 and momentum 0.99
#            (PyTorch's momentum 0.01), over channels or features
CASES = [
    ("conv_valid_relu", (8, 8, 3),
     [("conv", 4, 3, "relu", "valid", 1, True), ("max_pool", 2, 2), ("flatten",), ("dense", 5, "identity", True)],
     "sparse_logits"),
    ("conv_same_stride2", (9, 9, 2),
     [("conv", 5, 3, "tanh", "same", 2, True), ("avg_pool", 2, 2), ("flatten",), ("dense", 3, "sigmoid", True)],
     "binary_probs"),
    ("conv_same_nobias", (7, 7, 3),
     [("conv", 6, 3, "leaky_relu", "same", 1, False), ("gap",), ("dense", 4, "softmax", True)],
     "sparse_probs"),
    ("conv_stride2_even_kernel", (10, 10, 2),
     [("conv", 4, 4, "elu", "valid", 2, True), ("flatten",), ("dense", 6, "identity", False)],
     "categorical_logits"),
    ("standalone_activations", (6, 6, 2),
     [("conv", 3, 3, "identity", "same", 1, True), ("act", "sigmoid"), ("max_pool", 3, 3), ("act", "softmax"),
      ("flatten",), ("dense", 3, "identity", True), ("act", "tanh"), ("act", "elu")],
     "mse"),
    ("conv_global_max_pool", (6, 7, 3),
     [("conv", 5, 3, "relu", "same", 1, True), ("gmp",), ("dense", 4, "identity", True)],
     "sparse_logits"),
    ("upsample_zero_padding", (4, 5, 2),
     [("conv", 3, 3, "tanh", "same", 1, True), ("zpad", 1), ("up", 2, "nearest"), ("conv", 4, 3, "relu", "valid", 2, True),
      ("up", 2, "bilinear"), ("gap",), ("dense", 3, "identity", True)],
     "sparse_logits"),
    ("mlp", (12,),
     [("dense", 8, "sigmoid", True), ("act", "leaky_relu"), ("dense", 8, "relu", True), ("dense", 2, "identity", True)],
     "binary_logits"),
    ("conv_same_even_kernel_probs", (5, 5, 2),
     [("conv", 4, 2, "relu", "same", 1, True), ("max_pool", 2, 1), ("flatten",), ("dense", 3, "softmax", True)],
     "categorical_probs"),
    ("batch_norm", (6, 6, 3),
     [("conv", 5, 3, "relu", "valid", 1, False), ("bn",), ("max_pool", 2, 2), ("flatten",),
      ("dense", 6, "tanh", True), ("bn",), ("dense", 3, "identity", True)],
     "sparse_logits"),
]


def same_padding(size, kernel, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Net(torch.nn.Module):
    def __init__(self, input_shape, layers):
        super().__init__()
        self.specs = layers
        self.params = torch.nn.ModuleList()
        channels = input_shape[-1]
        image = len(input_shape) == 3
        for spec in layers:
            image = image and spec[0] not in ("flatten", "gap", "dense")
            if spec[0] == "conv":
                _, filters, kernel, _, _, stride, bias = spec
                self.params.append(torch.nn.Conv2d(channels, filters, kernel, stride=stride, bias=bias))
                channels = filters
            elif spec[0] == "dense":
                _, units, _, bias = spec
                self.params.append(torch.nn.LazyLinear(units, bias=bias))
            elif spec[0] == "bn":
                kind = torch.nn.LazyBatchNorm2d if image else torch.nn.LazyBatchNorm1d
                self.params.append(kind(eps=1e-3, momentum=0.01))
            else:
                self.params.append(None)

    def forward(self, x):
        for spec, module in zip(self.specs, self.params):
            kind = spec[0]
            if kind == "conv":
                _, _, kernel, act, padding, stride, _ = spec
                if padding == "same":
                    top, bottom = same_padding(x.shape[2], kernel, stride)
                    left, right = same_padding(x.shape[3], kernel, stride)
                    x = F.pad(x, (left, right, top, bottom))
                x = ACTIVATIONS[act](module(x))
            elif kind == "dense":
                x = ACTIVATIONS[spec[2]](module(x))
            elif kind == "max_pool":
                x = F.max_pool2d(x, spec[1], spec[2])
            elif kind == "avg_pool":
                x = F.avg_pool2d(x, spec[1], spec[2])
            elif kind == "gap":
                x = x.mean(dim=(2, 3))
            elif kind == "gmp":
                x = F.adaptive_max_pool2d(x, 1).flatten(1)
            elif kind == "up":
                x = F.interpolate(x, scale_factor=spec[1], mode=spec[2],
                                  **({"align_corners": False} if spec[2] == "bilinear" else {}))
            elif kind == "zpad":
                x = F.pad(x, (spec[1],) * 4)
            elif kind == "flatten":
                x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # NHWC order, as strata
            elif kind == "act":
                x = ACTIVATIONS[spec[1]](x)
            elif kind == "bn":
                x = module(x)
        return x


def loss_and_targets(kind, outputs, gen):
    n, k = outputs.shape
    if kind.startswith("sparse"):
        labels = torch.randint(0, k, (n,), generator=gen)
        target = labels.to(torch.float64).reshape(n, 1)
        if kind == "sparse_logits":
            return lambda z: F.cross_entropy(z, labels), target
        return lambda p: F.nll_loss(torch.log(p.clamp(EPS, 1 - EPS)), labels), target
    if kind.startswith("categorical"):
        target = torch.softmax(torch.randn(n, k, generator=gen), dim=1)  # soft labels
        if kind == "categorical_logits":
            return lambda z: -(target * torch.log_softmax(z, dim=1)).sum(1).mean(), target
        return lambda p: -(target * torch.log(p.clamp(EPS, 1 - EPS))).sum(1).mean(), target
    if kind.startswith("binary"):
        target = torch.randint(0, 2, (n, k), generator=gen).to(torch.float64)
        if kind == "binary_logits":
            return lambda z: F.binary_cross_entropy_with_logits(z, target), target
        def bce(p):
            q = p.clamp(EPS, 1 - EPS)
            return -(target * torch.log(q) + (1 - target) * torch.log(1 - q)).mean()
        return bce, target
    target = torch.randn(n, k, generator=gen)
    return lambda y: F.mse_loss(y, target), target


def to_strata(name, tensor):
    t = tensor.detach()
    if name.endswith("weight") and t.dim() == 4:
        t = t.permute(2, 3, 1, 0)  # OIHW -> [kh][kw][in][out]
    elif name.endswith("weight") and t.dim() == 2:
        t = t.t()  # [out][in] -> [in][out]
    return np.ascontiguousarray(t.numpy())


def parameters_by_layer(net):
    for index, module in enumerate(net.params):
        if module is None:
            continue
        yield f"L{index}.weight", module.weight
        if module.bias is not None:
            yield f"L{index}.bias", module.bias


def write_case(out_dir, seed, name, input_shape, layers, loss_kind):
    directory = os.path.join(out_dir, name)
    os.makedirs(directory, exist_ok=True)
    save = lambda key, array: np.save(os.path.join(directory, key + ".npy"), np.asarray(array, dtype=np.float64))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)

    x_strata = torch.randn(BATCH, *input_shape, generator=gen)
    to_torch = (lambda t: t.permute(0, 3, 1, 2)) if len(input_shape) == 3 else (lambda t: t)
    net = Net(input_shape, layers)
    net(to_torch(x_strata))  # materialises the lazy layers
    batch_norms = [(i, m) for i, m in enumerate(net.params) if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():  # non-zero biases (and gammas other than 1), so their paths are tested
        for key, p in parameters_by_layer(net):
            if key.endswith("bias"):
                p.uniform_(-0.5, 0.5, generator=gen)
        for _, m in batch_norms:
            m.weight.uniform_(0.5, 1.5, generator=gen)
            m.reset_running_stats()
    initial = {key: p.detach().clone() for key, p in parameters_by_layer(net)}

    def count_rows(module, inputs):  # values per channel in the batch
        module.rows = inputs[0].numel() // inputs[0].shape[1]
    hooks = [m.register_forward_pre_hook(count_rows) for _, m in batch_norms]
    x = to_torch(x_strata).detach().requires_grad_(True)
    out = net(x)
    for h in hooks:
        h.remove()
    if out.dim() == 4:
        raise SystemExit(f"{name}: networks must end flat")
    loss_fn, target = loss_and_targets(loss_kind, out, gen)
    loss = loss_fn(out)
    loss.backward()

    save("input", x_strata)
    save("target", target)
    save("output", out.detach())
    save("loss", [loss.item()])
    save("input_grad", x.grad.permute(0, 2, 3, 1) if x.grad.dim() == 4 else x.grad)
    # Moving statistics after that one training step, Keras' way: PyTorch's
    # running_var uses the unbiased batch variance, Keras (and strata) the biased one.
    for i, m in batch_norms:
        save(f"L{i}.moving_mean", m.running_mean)
        unbiased = (m.running_var - 0.99) / 0.01
        save(f"L{i}.moving_variance", 0.99 + 0.01 * unbiased * (m.rows - 1) / m.rows)
    for key, p in parameters_by_layer(net):
        save(key, to_strata(key, initial[key]))
        save(key + ".grad", to_strata(key, p.grad))

    optimizers = {
        "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
        "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
        "sgd_weight_decay": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
        "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
        "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
        "rmsprop": lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5, centered=True),
        "adagrad": lambda ps: torch.optim.Adagrad(ps, lr=0.05, initial_accumulator_value=0.1),
    }
    for opt_name, make in optimizers.items():
        with torch.no_grad():
            for key, p in parameters_by_layer(net):
                p.copy_(initial[key])
        opt = make(net.parameters())
        for _ in range(10):
            opt.zero_grad()
            loss_fn(net(to_torch(x_strata))).backward()
            opt.step()
        for key, p in parameters_by_layer(net):
            save(f"{opt_name}.{key}", to_strata(key, p))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for seed, (name, input_shape, layers, loss_kind) in enumerate(CASES, start=1):
        write_case(sys.argv[1], seed, name, input_shape, layers, loss_kind)
    print(f"wrote {len(CASES)} conformance cases to {sys.argv[1]}")


if __name__ == "__main__":
    main()
