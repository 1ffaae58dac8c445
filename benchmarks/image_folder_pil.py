"""Decode + resize throughput: strata's image-folder loader against Pillow
(python3-pil) on the same folder, in the same run; and the peak memory of
strata's in-memory loader against its streamed source on that folder.

Usage: image_folder_pil.py BENCH_BINARY [--images N] [--size S] [--target T] [--folder DIR]
BENCH_BINARY is build/benchmarks/image_folder_bench.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import time

import numpy as np
from PIL import Image

parser = argparse.ArgumentParser()
parser.add_argument("bench")
parser.add_argument("--images", type=int, default=2000)
parser.add_argument("--size", type=int, default=256)
parser.add_argument("--target", type=int, default=128)
parser.add_argument("--folder", default="/tmp/strata_image_bench")
parser.add_argument("--repeats", type=int, default=5)
args = parser.parse_args()

# Half JPEG, half PNG, photo-like content (smooth gradients plus noise), 4 classes.
marker = os.path.join(args.folder, f".complete-{args.images}-{args.size}")
if not os.path.exists(marker):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:args.size, 0:args.size]
    for i in range(args.images):
        cls = os.path.join(args.folder, f"class{i % 4}")
        os.makedirs(cls, exist_ok=True)
        base = (x * (1 + i % 5) + y * (2 + i % 3))[..., None] + np.arange(3) * 50
        img = ((base + rng.integers(0, 40, (args.size, args.size, 3))) % 256).astype(np.uint8)
        ext = "jpg" if i % 2 else "png"
        Image.fromarray(img).save(os.path.join(cls, f"{i:06d}.{ext}"), **({"quality": 90} if ext == "jpg" else {}))
    open(marker, "w").close()
files = sorted(os.path.join(r, f) for r, _, fs in os.walk(args.folder) for f in fs if f.endswith((".jpg", ".png")))
folder_mb = sum(os.path.getsize(f) for f in files) / 2**20


def pil_load():
    # What keras_preprocessing's load_img + img_to_array does per file.
    out = np.empty((len(files), args.target, args.target, 3), np.float32)
    for k, f in enumerate(files):
        with Image.open(f) as im:
            out[k] = np.asarray(im.convert("RGB").resize((args.target, args.target), Image.BILINEAR), np.float32)
    return out


times = []
for _ in range(args.repeats):
    start = time.perf_counter()
    pil_load()
    times.append(time.perf_counter() - start)
pil_rate = len(files) / statistics.median(times)


def strata(mode, threads):
    out = subprocess.run([args.bench, args.folder, str(args.target), str(args.target), mode, str(threads),
                          str(args.repeats)], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


rows = [("Pillow, 1 process", pil_rate, None)]
for mode, threads in (("load", 1), ("load", 2), ("stream", 2)):
    r = strata(mode, threads)
    rows.append((f"strata {mode}, {threads} thread(s)", r["images_per_second"], r["peak_rss_mb"]))
decoded_mb = len(files) * args.target * args.target * 3 * 4 / 2**20
print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus; {len(files)} files "
      f"({folder_mb:.0f} MB, {args.size}x{args.size} RGB, half JPEG q90, half PNG) -> "
      f"{args.target}x{args.target} bilinear; decoded as float: {decoded_mb:.0f} MB; median of {args.repeats}")
print(f"{'':32} {'img/s':>9} {'x Pillow':>9} {'peak RSS MB':>12}")
for name, rate, rss in rows:
    print(f"{name:32} {rate:9.0f} {rate / pil_rate:9.2f} {'' if rss is None else f'{rss:12.0f}'}")
