#!/usr/bin/python3
"""Bit-exact resume: 4 epochs in one go, and 2 epochs + a checkpoint + 2 more
epochs resumed in a new process, must give byte-identical model files and
identical histories.

usage: resume_check.py RESUME_TOOL DIR
"""
import os
import shutil
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tool, d = sys.argv[1], sys.argv[2]
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for mode in ("full", "first", "resume"):
        subprocess.run([tool, mode, d], check=True)
    same_weights = open(os.path.join(d, "full.npz"), "rb").read() == open(os.path.join(d, "resumed.npz"), "rb").read()
    full = open(os.path.join(d, "full.history")).read()
    resumed = open(os.path.join(d, "resumed.history")).read()
    print("full run:\n" + full + "resumed run:\n" + resumed)
    if not same_weights:
        sys.exit("the resumed run's weights differ from the uninterrupted run's")
    if full != resumed:
        sys.exit("the resumed run's history differs from the uninterrupted run's")
    print("bit-identical: weights, batch-norm statistics and history")


if __name__ == "__main__":
    main()
