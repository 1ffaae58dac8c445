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
import shutil
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
#   ("convT", filters, kernel, activation, padding, stride, bias): transposed convolution
#   ("dw", kernel, multiplier, activation, padding, stride, bias): depthwise convolution
#   ("bn",): batch normalization with Keras' epsilon 1e-3 and momentum 0.99
#            (PyTorch's momentum 0.01), over channels or features
# and composites, whose layers are lists of the same tuples:
#   ("chain", layers) ("residual", layers, shortcut layers or None)
#   ("concat", [branch, ...]) with each branch one layer tuple, ("skip_concat", layers)
# Tensors are saved under strata's paths: 1_residual.0_conv2d.weight.
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
    ("residual_projection", (6, 6, 3),
     [("conv", 4, 3, "relu", "same", 1, True),
      ("residual", [("conv", 4, 3, "identity", "same", 1, False), ("bn",), ("act", "relu"),
                    ("conv", 4, 3, "identity", "same", 1, True)], None),
      ("act", "relu"),
      ("residual", [("conv", 6, 3, "identity", "same", 2, False), ("bn",), ("act", "relu"),
                    ("conv", 6, 3, "identity", "same", 1, False), ("bn",)],
       [("conv", 6, 1, "identity", "valid", 2, False), ("bn",)]),
      ("act", "relu"), ("gap",), ("dense", 3, "identity", True)],
     "sparse_logits"),
    ("concat_branches", (6, 6, 2),
     [("concat", [("conv", 3, 1, "relu", "valid", 1, True),
                  ("chain", [("conv", 2, 3, "tanh", "same", 1, True), ("max_pool", 3, 1), ("zpad", 1)])]),
      ("conv", 4, 3, "relu", "valid", 2, True), ("flatten",), ("dense", 4, "identity", True)],
     "categorical_logits"),
    ("unet_two_levels", (8, 8, 2),
     [("conv", 4, 3, "relu", "same", 1, True),
      ("skip_concat", [("max_pool", 2, 2), ("conv", 6, 3, "tanh", "same", 1, True),
                       ("skip_concat", [("max_pool", 2, 2), ("conv", 8, 3, "identity", "same", 1, False), ("bn",),
                                        ("act", "tanh"), ("up", 2, "nearest")]),
                       ("conv", 6, 3, "tanh", "same", 1, True), ("up", 2, "bilinear")]),
      ("conv", 3, 1, "identity", "valid", 1, True), ("flatten",), ("dense", 2, "identity", True)],
     "binary_logits"),
    ("transpose_depthwise", (4, 4, 3),
     [("dw", 3, 2, "relu", "same", 1, True), ("convT", 4, 3, "tanh", "same", 2, True),
      ("convT", 2, 2, "identity", "valid", 2, False), ("conv", 3, 3, "relu", "valid", 2, True), ("gap",),
      ("dense", 3, "identity", True)],
     "sparse_logits"),
]


def same_padding(size, kernel, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


STRATA_NAMES = {"conv": "conv2d", "convT": "conv2d_transpose", "dw": "depthwise_conv2d", "dense": "dense", "bn": "batch_norm", "max_pool": "max_pool",
                "avg_pool": "avg_pool", "gap": "global_avg_pool", "gmp": "global_max_pool", "flatten": "flatten",
                "up": "upsample", "zpad": "zero_padding", "chain": "chain", "residual": "residual",
                "concat": "concat", "skip_concat": "skip_concat"}


class BatchNorm(torch.nn.Module):
    """Batch normalization over dim 1 of (N, C) or (N, C, H, W)."""
    def __init__(self):
        super().__init__()
        self.bn = torch.nn.LazyBatchNorm1d(eps=1e-3, momentum=0.01)

    def forward(self, x):
        self.rows = x.numel() // x.shape[1]  # values per channel in the batch
        return self.bn(x.flatten(2) if x.dim() == 4 else x).reshape(x.shape)


class Layer(torch.nn.Module):
    """One layer tuple; composites hold their children."""
    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        kind = spec[0]
        self.name = STRATA_NAMES.get(kind, spec[1] if kind == "act" else kind)
        self.children_ = torch.nn.ModuleList()
        self.shortcut = None
        if kind == "conv":
            _, filters, kernel, _, _, stride, bias = spec
            self.module = torch.nn.LazyConv2d(filters, kernel, stride=stride, bias=bias)
        elif kind == "convT":
            _, filters, kernel, _, _, stride, bias = spec
            self.module = torch.nn.LazyConvTranspose2d(filters, kernel, stride=stride, bias=bias)
        elif kind == "dw":
            self.module = None  # built at the first forward, when the channels are known
        elif kind == "dense":
            self.module = torch.nn.LazyLinear(spec[1], bias=spec[3])
        elif kind == "bn":
            self.module = BatchNorm()
        elif kind in ("chain", "residual", "skip_concat"):
            self.children_ = torch.nn.ModuleList(Layer(s) for s in spec[1])
            if kind == "residual" and spec[2] is not None:
                self.shortcut = Layer(("chain", spec[2]))
                self.shortcut.name = "shortcut"
        elif kind == "concat":
            self.children_ = torch.nn.ModuleList(Layer(s) for s in spec[1])

    def run_children(self, x):
        for child in self.children_:
            x = child(x)
        return x

    def forward(self, x):
        spec, kind = self.spec, self.spec[0]
        if kind == "conv":
            _, _, kernel, act, padding, stride, _ = spec
            if padding == "same":
                top, bottom = same_padding(x.shape[2], kernel, stride)
                left, right = same_padding(x.shape[3], kernel, stride)
                x = F.pad(x, (left, right, top, bottom))
            return ACTIVATIONS[act](self.module(x))
        if kind == "convT":
            _, _, kernel, act, padding, stride, _ = spec
            y = self.module(x)
            if padding == "same":  # TensorFlow crops kernel - stride pixels, the odd one last
                top = (kernel - stride) // 2
                y = y[:, :, top:top + x.shape[2] * stride, top:top + x.shape[3] * stride]
            return ACTIVATIONS[act](y)
        if kind == "dw":
            _, kernel, multiplier, act, padding, stride, bias = spec
            if self.module is None:
                channels = x.shape[1]
                self.module = torch.nn.Conv2d(channels, channels * multiplier, kernel, stride=stride,
                                              groups=channels, bias=bias)
            if padding == "same":
                top, bottom = same_padding(x.shape[2], kernel, stride)
                left, right = same_padding(x.shape[3], kernel, stride)
                x = F.pad(x, (left, right, top, bottom))
            return ACTIVATIONS[act](self.module(x))
        if kind == "dense":
            return ACTIVATIONS[spec[2]](self.module(x))
        if kind == "bn":
            return self.module(x)
        if kind == "max_pool":
            return F.max_pool2d(x, spec[1], spec[2])
        if kind == "avg_pool":
            return F.avg_pool2d(x, spec[1], spec[2])
        if kind == "gap":
            return x.mean(dim=(2, 3))
        if kind == "gmp":
            return F.adaptive_max_pool2d(x, 1).flatten(1)
        if kind == "up":
            return F.interpolate(x, scale_factor=spec[1], mode=spec[2],
                                 **({"align_corners": False} if spec[2] == "bilinear" else {}))
        if kind == "zpad":
            return F.pad(x, (spec[1],) * 4)
        if kind == "flatten":
            return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # NHWC order, as strata
        if kind == "act":
            return ACTIVATIONS[spec[1]](x)
        if kind == "chain":
            return self.run_children(x)
        if kind == "residual":
            return self.run_children(x) + (self.shortcut(x) if self.shortcut is not None else x)
        if kind == "concat":
            return torch.cat([child(x) for child in self.children_], dim=1)  # channels, as NHWC's last axis
        if kind == "skip_concat":
            return torch.cat([x, self.run_children(x)], dim=1)
        raise ValueError(kind)

    def named_layers(self, path):
        """(strata path, leaf layer) for this layer and everything inside it."""
        yield path, self
        for index, child in enumerate(self.children_):
            yield from child.named_layers(f"{path}.{index}_{child.name}")
        if self.shortcut is not None:
            yield from self.shortcut.named_layers(f"{path}.{len(self.children_)}_shortcut")


class Net(torch.nn.Module):
    def __init__(self, input_shape, layers):
        super().__init__()
        self.layers = torch.nn.ModuleList(Layer(s) for s in layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def named_layers(self):
        for index, layer in enumerate(self.layers):
            yield from layer.named_layers(f"{index}_{layer.name}")


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
    """(strata file key, parameter) in strata's order: weight, bias; gamma, beta."""
    for path, layer in net.named_layers():
        kind = layer.spec[0]
        if kind in ("conv", "convT", "dw", "dense"):
            yield f"{path}.weight", layer.module.weight
            if layer.module.bias is not None:
                yield f"{path}.bias", layer.module.bias
        elif kind == "bn":
            yield f"{path}.gamma", layer.module.bn.weight
            yield f"{path}.beta", layer.module.bn.bias


def batch_norms_of(net):
    return [(path, layer.module) for path, layer in net.named_layers() if layer.spec[0] == "bn"]


def write_case(out_dir, seed, name, input_shape, layers, loss_kind):
    directory = os.path.join(out_dir, name)
    shutil.rmtree(directory, ignore_errors=True)  # no tensors left from an older generator
    os.makedirs(directory)
    save = lambda key, array: np.save(os.path.join(directory, key + ".npy"), np.asarray(array, dtype=np.float64))
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)

    x_strata = torch.randn(BATCH, *input_shape, generator=gen)
    to_torch = (lambda t: t.permute(0, 3, 1, 2)) if len(input_shape) == 3 else (lambda t: t)
    net = Net(input_shape, layers)
    net(to_torch(x_strata))  # materialises the lazy layers
    batch_norms = batch_norms_of(net)
    with torch.no_grad():  # non-zero biases (and gammas other than 1), so their paths are tested
        for key, p in parameters_by_layer(net):
            if key.endswith("bias") or key.endswith("beta"):
                p.uniform_(-0.5, 0.5, generator=gen)
        for _, m in batch_norms:
            m.bn.weight.uniform_(0.5, 1.5, generator=gen)
            m.bn.reset_running_stats()
    initial = {key: p.detach().clone() for key, p in parameters_by_layer(net)}

    x = to_torch(x_strata).detach().requires_grad_(True)
    out = net(x)
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
    for path, m in batch_norms:
        save(f"{path}.moving_mean", m.bn.running_mean)
        unbiased = (m.bn.running_var - 0.99) / 0.01
        save(f"{path}.moving_variance", 0.99 + 0.01 * unbiased * (m.rows - 1) / m.rows)
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
