"""Ctrl-C during the fashion_mnist example: the first SIGINT ends the epoch,
saves the checkpoint and exits with 130 and stopped_by "interrupted" in the
JSON line, and --resume continues from that checkpoint; a second SIGINT
kills the process at once."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile


FLAGS = ["--limit", "4000", "--threads", "1", "--json"]


def start(example, checkpoint):
    # The child gets SIGINT's default disposition even if this script was started with it ignored.
    return subprocess.Popen(
        [example, "--epochs", "100", "--checkpoint", checkpoint] + FLAGS,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_epoch(process, number):
    for line in process.stderr:
        if line.startswith(f"Epoch {number}/"):
            return
    sys.exit(f"the example ended before epoch {number}: rc {process.wait()}")


def main():
    example = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = os.path.join(tmp, "run.npz")
        p = start(example, checkpoint)
        wait_for_epoch(p, 1)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        last = out.strip().splitlines()[-1]
        report = json.loads(last)
        assert p.returncode == 130, f"exit code {p.returncode}, expected 130\n{err}"
        assert report["stopped_by"] == "interrupted", report
        assert report["stop_reason"].startswith("interrupted by SIGINT"), report["stop_reason"]
        assert 1 <= report["epochs"] < 100, report["epochs"]
        with zipfile.ZipFile(checkpoint) as z:
            saved = z.namelist()
        assert "training.json" in saved and "0_conv2d.weight.npy" in saved, saved
        print(f"first SIGINT: stopped after {report['epochs']} epoch(s): {report['stop_reason']}; "
              f"the checkpoint holds {len(saved)} members")
        done = report["epochs"]
        resumed = subprocess.run([example, "--epochs", str(done + 1), "--resume", checkpoint] + FLAGS,
                                 capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        again = json.loads(resumed.stdout.strip().splitlines()[-1])
        assert again["epochs"] == done + 1 and again["stopped_by"] == "completed", again
        assert again["history"][:done] == report["history"][:done], "the resumed history lost the saved epochs"
        print(f"--resume: ran epoch {done + 1} after the saved {done}")

        p = start(example, checkpoint)
        wait_for_epoch(p, 1)
        start_time = time.monotonic()
        p.send_signal(signal.SIGINT)
        time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=60)
        elapsed = time.monotonic() - start_time
        assert p.returncode == -signal.SIGINT, f"exit code {p.returncode}, expected death by SIGINT"
        print(f"second SIGINT: the process died by SIGINT {elapsed:.2f} s after the first")


if __name__ == "__main__":
    main()
