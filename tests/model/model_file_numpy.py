#!/usr/bin/python3
"""Reads a strata model file (written by the model_file test) with numpy,
checks its architecture against its arrays, and writes a copy with
numpy.savez_compressed (deflated members) for strata to load back.

usage: model_file_numpy.py DIR
"""
import json
import os
import sys
import zipfile

import numpy as np


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    with np.load(os.path.join(d, "model.npz")) as z:
        architecture = json.loads(z.zip.read("architecture.json"))
        arrays = {name: z[name] for name in z.files if name != "architecture.json"}
    assert architecture["format"] == "strata-model", architecture["format"]
    expected = {}
    for layer in architecture["layers"]:
        for t in layer["tensors"]:
            expected[f"{layer['path']}.{t['name']}"] = tuple(t["shape"])
    got = {name: a.shape for name, a in arrays.items()}
    assert got == expected, f"arrays {got} but the architecture lists {expected}"
    assert all(a.dtype == np.float32 for a in arrays.values())
    # numpy.savez_compressed deflates each array's .npy; the architecture goes in as raw JSON bytes beside them.
    out = os.path.join(d, "compressed.npz")
    np.savez_compressed(out, **arrays)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("architecture.json", json.dumps(architecture))
    print(f"numpy read {len(arrays)} arrays matching the architecture; wrote {out} with deflated members")


if __name__ == "__main__":
    main()
