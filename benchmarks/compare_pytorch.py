#!/usr/bin/python3
"""Runs the reference Fashion-MNIST network's training step and inference, and
ResNet-20's training step, in PyTorch (Debian's python3-torch, CPU) and in
strata_bench, interleaved, at the same thread count, batch sizes and
optimizer (Adam), and prints a table of medians, ratios and one JSON line
(the last line of output). strata_bench measures the FP32 FMA
peak in the same run (BM_peak_fma, one thread and one per core), and each row
gives strata's share of the peak at the thread count used, counting the
network's multiply-adds as direct convolution (15.4 MFLOP per training image,
5.26 MFLOP per inference).

usage: benchmarks/compare_pytorch.py [--bench build/benchmarks/strata_bench]
                                     [--threads 2] [--repetitions 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# OpenBLAS at one thread is PyTorch's best setting on this machine; set before torch loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet_pytorch import ResNet  # noqa: E402  (strata's models::resnet, layer for layer)


def reference_net():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))


def timed_rate(step, items, min_seconds=0.5):
    """Items per second of step(), after a warm-up, over at least min_seconds."""
    for _ in range(3):
        step()
    calls, start = 0, time.perf_counter()
    while True:
        step()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return calls * items / elapsed, elapsed / calls


def torch_figures(batch_train=64, batch_infer=256):
    torch.manual_seed(0)
    net = reference_net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch_train, 1, 28, 28)
    y = torch.randint(0, 10, (batch_train,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(x), y).backward()
        opt.step()

    net.train()
    train_img_s, _ = timed_rate(train_step, batch_train)
    net.eval()
    xb = torch.rand(batch_infer, 1, 28, 28)
    x1 = torch.rand(1, 1, 28, 28)
    with torch.inference_mode():
        infer_img_s, _ = timed_rate(lambda: net(xb), batch_infer)
        _, latency_s = timed_rate(lambda: net(x1), 1)

    resnet = ResNet(20)
    resnet_opt = torch.optim.Adam(resnet.parameters(), lr=1e-3)
    resnet.train()

    def resnet_step():
        resnet_opt.zero_grad(set_to_none=True)
        loss_fn(resnet(x), y).backward()
        resnet_opt.step()

    resnet_img_s, _ = timed_rate(resnet_step, batch_train, min_seconds=2.0)
    return {"train_img_s_b64": train_img_s, "infer_img_s_b256": infer_img_s, "latency_us_b1": latency_s * 1e6,
            "resnet20_train_img_s_b64": resnet_img_s}


# Multiply-adds x 2 of the reference network (as strata_bench counts them).
FORWARD_FLOP = 2.0 * 26 * 26 * 32 * 9 + 2.0 * (11 * 11 * 64 * 288 + 1600 * 128 + 128 * 10)
TRAIN_FLOP = 3 * FORWARD_FLOP - 2.0 * 26 * 26 * 32 * 9
# ResNet-20 on 28x28 images, as strata_bench's resnet20_train_flop.
RESNET20_FORWARD_FLOP = 2.0 * (28 * 28 * 16 * 9.0 + 6 * 28 * 28 * 16 * 16 * 9.0 + 14 * 14 * 32 * 16 * 9.0
                               + 5 * 14 * 14 * 32 * 32 * 9.0 + 14 * 14 * 32 * 16.0 + 7 * 7 * 64 * 32 * 9.0
                               + 5 * 7 * 7 * 64 * 64 * 9.0 + 7 * 7 * 64 * 32.0 + 64 * 10.0)
RESNET20_TRAIN_FLOP = 3 * RESNET20_FORWARD_FLOP - 2.0 * 28 * 28 * 16 * 9


def strata_figures(bench, threads):
    out = subprocess.run(
        [bench, "--benchmark_filter=BM_train_step/64/|BM_train_step_resnet20/64/|BM_infer/1/|BM_infer/256/|"
                "BM_peak_fma",
         "--benchmark_min_time=0.5", "--benchmark_format=json"],
        check=True, capture_output=True, text=True,
        env={**os.environ, "STRATA_THREADS": str(threads)}).stdout
    rows = {b["name"]: b for b in json.loads(out)["benchmarks"]}
    peak = [b for name, b in rows.items() if name.startswith("BM_peak_fma/") and not name.endswith("threads:1")]
    return {
        "peak_gflops_1_thread": rows["BM_peak_fma/real_time/threads:1"]["GFLOP/s"],
        "peak_gflops_all_threads": peak[0]["GFLOP/s"] if peak else float("nan"),
        "train_img_s_b64": rows["BM_train_step/64/real_time"]["img/s"],
        "infer_img_s_b256": rows["BM_infer/256/real_time"]["img/s"],
        "latency_us_b1": rows["BM_infer/1/real_time"]["real_time"],  # reported in microseconds
        "resnet20_train_img_s_b64": rows["BM_train_step_resnet20/64/real_time"]["img/s"],
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default=os.path.join(here, "..", "build", "benchmarks", "strata_bench"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    if not os.access(args.bench, os.X_OK):
        sys.exit(f"compare_pytorch: {args.bench} is not an executable; build the strata_bench target first")
    torch.set_num_threads(args.threads)

    runs = {"torch": [], "strata": []}
    for rep in range(args.repetitions):
        runs["torch"].append(torch_figures())
        runs["strata"].append(strata_figures(args.bench, args.threads))
        print(f"repetition {rep + 1}/{args.repetitions}: torch {runs['torch'][-1]}, strata {runs['strata'][-1]}",
              file=sys.stderr)

    med = {side: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for side, rs in runs.items()}
    result = {
        "threads": args.threads,
        "repetitions": args.repetitions,
        "torch_version": torch.__version__,
        "strata_train_img_s_b64": med["strata"]["train_img_s_b64"],
        "torch_train_img_s_b64": med["torch"]["train_img_s_b64"],
        "ratio_train_b64": med["strata"]["train_img_s_b64"] / med["torch"]["train_img_s_b64"],
        "strata_latency_us_b1": med["strata"]["latency_us_b1"],
        "torch_latency_us_b1": med["torch"]["latency_us_b1"],
        "ratio_latency_b1": med["torch"]["latency_us_b1"] / med["strata"]["latency_us_b1"],
        "strata_infer_img_s_b256": med["strata"]["infer_img_s_b256"],
        "torch_infer_img_s_b256": med["torch"]["infer_img_s_b256"],
        "ratio_infer_b256": med["strata"]["infer_img_s_b256"] / med["torch"]["infer_img_s_b256"],
        "strata_resnet20_train_img_s_b64": med["strata"]["resnet20_train_img_s_b64"],
        "torch_resnet20_train_img_s_b64": med["torch"]["resnet20_train_img_s_b64"],
        "ratio_resnet20_train_b64": med["strata"]["resnet20_train_img_s_b64"]
        / med["torch"]["resnet20_train_img_s_b64"],
        "peak_gflops_1_thread": med["strata"]["peak_gflops_1_thread"],
        "peak_gflops_all_threads": med["strata"]["peak_gflops_all_threads"],
    }
    peak = result["peak_gflops_1_thread"] if args.threads == 1 else result["peak_gflops_all_threads"]
    result["peak_gflops_used"] = peak
    result["share_of_peak_train_b64"] = result["strata_train_img_s_b64"] * TRAIN_FLOP / 1e9 / peak
    result["share_of_peak_infer_b256"] = result["strata_infer_img_s_b256"] * FORWARD_FLOP / 1e9 / peak
    result["share_of_peak_latency_b1"] = FORWARD_FLOP / (result["strata_latency_us_b1"] * 1e-6) / 1e9 / peak
    result["share_of_peak_resnet20_train_b64"] = (result["strata_resnet20_train_img_s_b64"] * RESNET20_TRAIN_FLOP
                                                  / 1e9 / peak)
    print(f"FMA peak (BM_peak_fma, this run): {result['peak_gflops_1_thread']:.1f} GFLOP/s on one thread, "
          f"{result['peak_gflops_all_threads']:.1f} on one per core")
    print(f"{'medians, ' + str(args.threads) + ' threads':32} {'strata':>12} {'PyTorch':>12} {'ratio':>8} "
          f"{'of peak':>8}")
    print(f"{'train, batch 64 (img/s)':32} {result['strata_train_img_s_b64']:12.0f} "
          f"{result['torch_train_img_s_b64']:12.0f} {result['ratio_train_b64']:7.2f}x "
          f"{100 * result['share_of_peak_train_b64']:7.1f}%")
    print(f"{'inference, batch 256 (img/s)':32} {result['strata_infer_img_s_b256']:12.0f} "
          f"{result['torch_infer_img_s_b256']:12.0f} {result['ratio_infer_b256']:7.2f}x "
          f"{100 * result['share_of_peak_infer_b256']:7.1f}%")
    print(f"{'latency, batch 1 (us)':32} {result['strata_latency_us_b1']:12.1f} "
          f"{result['torch_latency_us_b1']:12.1f} {result['ratio_latency_b1']:7.2f}x "
          f"{100 * result['share_of_peak_latency_b1']:7.1f}%")
    print(f"{'ResNet-20 train, batch 64 (img/s)':32} {result['strata_resnet20_train_img_s_b64']:12.0f} "
          f"{result['torch_resnet20_train_img_s_b64']:12.0f} {result['ratio_resnet20_train_b64']:7.2f}x "
          f"{100 * result['share_of_peak_resnet20_train_b64']:7.1f}%")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
