#!/usr/bin/python3
"""strata -> ONNX conformance (export_tool.cpp writes the files): for each
network, onnx.checker accepts DIR/<name>.onnx (full_check, so shapes are
inferred through the whole graph) and OpenCV's DNN module, given the same
NCHW input, gives strata's outputs: max relative difference <= 1e-5, where
relative is |opencv - strata| / max(|strata|, 1e-3 max|strata|) (the floor
keeps values near zero from dividing by almost nothing).

usage: export_check.py DIR [name ...]   (exit 77: numpy, onnx or cv2 missing)
"""
import os
import sys

try:
    import cv2
    import numpy as np
    import onnx
except ImportError as e:
    print(f"export_check: skipped, {e} (install python3-numpy, python3-onnx and python3-opencv)")
    sys.exit(77)

CASES = ["reference", "bn", "resnet8", "unet", "zoo", "chain_zoo"]
TOLERANCE = 1e-5


def relative_difference(ours, theirs):
    floor = 1e-3 * np.abs(theirs).max()
    return float((np.abs(ours - theirs) / np.maximum(np.abs(theirs), floor)).max())


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    directory = sys.argv[1]
    names = sys.argv[2:] or CASES
    failed = []
    for name in names:
        path = os.path.join(directory, name + ".onnx")
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
        assert opset == [13], f"{name}: opset {opset}"
        x = np.load(os.path.join(directory, name + ".input.npy"))
        expected = np.load(os.path.join(directory, name + ".output.npy"))
        net = cv2.dnn.readNetFromONNX(path)
        net.setInput(x)
        got = net.forward()
        if got.shape != expected.shape:
            print(f"{name}: OpenCV gives shape {got.shape}, strata {expected.shape}")
            failed.append(name)
            continue
        rel = relative_difference(got, expected)
        ok = rel <= TOLERANCE
        print(f"{name}: onnx.checker accepts it ({len(model.graph.node)} nodes, opset 13); "
              f"OpenCV vs strata on {x.shape}: max relative difference {rel:.3g}, "
              f"max |difference| {np.abs(got - expected).max():.3g} {'ok' if ok else 'FAILED'}")
        if not ok:
            failed.append(name)
    if failed:
        sys.exit("export_check: failed: " + ", ".join(failed))


if __name__ == "__main__":
    main()
