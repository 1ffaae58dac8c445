#!/usr/bin/env python3
"""Data-parallel training on this machine: 2 MPI processes x 1 thread against
1 process x 2 threads, same global batch, one Fashion-MNIST epoch each, runs
interleaved. Prints the median training images/s of each, their ratio and the
share of rank 0's training time spent in all-reduce.

  python3 benchmarks/distributed_scaling.py build/examples/distributed --repetitions 5

The FMA peak (strata_bench's BM_peak_fma, one and two threads) is measured
before and after: two threads well under twice one means the machine was
shared during the run.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time


def run(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def peak(bench):
    out = subprocess.run([bench, "--benchmark_filter=BM_peak_fma", "--benchmark_format=json"], check=True,
                         capture_output=True, text=True).stdout
    rates = [b["GFLOP/s"] for b in json.loads(out)["benchmarks"]]
    return "FMA peak " + " / ".join(f"{r:.0f}" for r in rates) + " GFLOP/s (1 / 2 threads)"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("example", help="path to build/examples/distributed")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--variants", default="reference,bn")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--limit", type=int, default=0, help="training images (default: all 60,000)")
    parser.add_argument("--bench", default=None,
                        help="strata_bench, for the FMA peak (default: benchmarks/strata_bench in the same build)")
    args = parser.parse_args()
    mpirun = ["mpirun", "-np", "2", "--allow-run-as-root", "--oversubscribe", "--bind-to", "core"]
    common = ["--epochs", "1", "--batch", str(args.batch), "--json"]
    if args.limit:
        common += ["--limit", str(args.limit)]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"{time.strftime('%Y-%m-%d %H:%M')} {platform.node()} {os.cpu_count()} CPUs, {cpu}")
    bench = args.bench or os.path.join(os.path.dirname(os.path.abspath(args.example)), "..", "benchmarks",
                                       "strata_bench")
    if os.path.exists(bench):
        print("before:", peak(bench))
    for variant in args.variants.split(","):
        threads, ranks, share = [], [], []
        for _ in range(args.repetitions):  # interleaved, so drifts in the machine hit both alike
            threads.append(run([args.example, "--threads", "2", "--variant", variant] + common))
            ranks.append(run(mpirun + [args.example, "--threads", "1", "--variant", variant] + common))
        one = statistics.median(r["train_images_per_second"] for r in threads)
        two = statistics.median(r["train_images_per_second"] for r in ranks)
        reduce_share = statistics.median(r["allreduce_share"] for r in ranks)
        print(f"{variant:>9}: 1 process x 2 threads {one:7.0f} img/s | 2 processes x 1 thread {two:7.0f} img/s"
              f" | ratio {two / one:.3f} | all-reduce {100 * reduce_share:.1f}% of rank 0's training time"
              f" | runs {[round(r['train_images_per_second']) for r in threads]} vs"
              f" {[round(r['train_images_per_second']) for r in ranks]}")
        sys.stdout.flush()
    if os.path.exists(bench):
        print("after:", peak(bench))


if __name__ == "__main__":
    main()
