"""What a user waits for: the default `aevb train` against a tutorial-style training script of the same
model (`benchmarks/tutorial_vae.py`), each as a whole process from the command line — start-up, data
loading, training, evaluation and pictures included — alternating, best of the rounds each. Prints the
wall times, their ratio, the CPU, and the test ELBO each reached (they must agree within noise), and for
aevb the split of its time between training and evaluation.

    python benchmarks/end_to_end.py [--epochs 10] [--rounds 2]
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    aevb_command = [sys.executable, "-m", "aevb", "train", "--epochs", str(args.epochs)]
    tutorial_command = [sys.executable, str(HERE / "tutorial_vae.py"), "--epochs", str(args.epochs)]
    print(f"CPU: {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
          f"{args.epochs} epochs of 784-500-20 on dynamically binarised MNIST, whole processes")
    best = {"tutorial": float("inf"), "aevb": float("inf")}
    for round_number in range(1, args.rounds + 1):
        seconds, output = timed(tutorial_command)
        best["tutorial"] = min(best["tutorial"], seconds)
        tutorial_elbo = float(re.search(r"test ELBO (-?[\d.]+)", output).group(1))
        with tempfile.TemporaryDirectory() as folder:
            seconds, _ = timed(aevb_command + ["--out", str(Path(folder) / "run")])
            rows = [json.loads(line) for line in (Path(folder) / "run" / "metrics.jsonl").read_text().splitlines()]
        best["aevb"] = min(best["aevb"], seconds)
        evaluation = sum(row["evaluation_seconds"] for row in rows)
        print(f"round {round_number}: tutorial {best['tutorial']:.1f} s, aevb {best['aevb']:.1f} s (best so far); "
              f"aevb's evaluations {evaluation:.1f} s = {100 * evaluation / seconds:.1f} % of its {seconds:.1f} s; "
              f"test ELBO tutorial {tutorial_elbo:.2f}, aevb {rows[-1]['test_elbo']:.2f}", flush=True)
    print(f"best of {args.rounds}: tutorial script {best['tutorial']:.1f} s, aevb train {best['aevb']:.1f} s; "
          f"ratio {best['tutorial'] / best['aevb']:.2f}x")


if __name__ == "__main__":
    main()
