"""Training on a .npy file larger than the memory a process may allocate.

Writes SIZE GiB of Gaussian rows, then runs `aevb train` on it in a child process whose RLIMIT_DATA (heap
and private memory) is LIMIT MiB, and prints the file's size, the limit, the child's peak resident set
(which counts the file's pages while they are mapped; the kernel may drop them again) and the time of the
first load (the shuffled copy into the cache) against the second (from the cache). It first shows that the
limit binds: a child with the same limit cannot read the file into memory. Exits non-zero when anything
fails (tests/test_datasets.py runs it).

    python benchmarks/large_npy.py --size 2 --limit 640
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def write_rows(file: Path, size_gib: float, width: int) -> int:
    rows = int(size_gib * 2**30) // (4 * width)
    out = np.lib.format.open_memmap(file, mode="w+", dtype=np.float32, shape=(rows, width))
    generator = np.random.default_rng(0)
    for start in range(0, rows, 2**17):
        out[start:start + 2**17] = generator.normal(size=(min(2**17, rows - start), width))
    out.flush()
    return rows


def train(file: Path, out: Path, limit: int, cache: Path) -> tuple[float, int]:
    """(seconds, peak resident set in bytes) of one `aevb train` in a limited child."""
    command = [sys.executable, "-m", "aevb", "train", "--data", str(file), "--hidden", "64", "--latent-dim", "4",
               "--likelihood", "gaussian", "--gaussian-mean", "linear", "--max-samples", "3000", "--eval-every", "1500", "--quiet", "--out", str(out)]
    pid = os.fork()
    if pid == 0:                                  # the child: limit, then become `aevb train`
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        os.execve(sys.executable, command, {**os.environ, "XDG_CACHE_HOME": str(cache)})
    started = time.perf_counter()
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"aevb train failed (exit {os.waitstatus_to_exitcode(status)})")
    return time.perf_counter() - started, usage.ru_maxrss * 1024


def limit_binds(file: Path, limit: int) -> bool:
    """Whether a child with RLIMIT_DATA = `limit` fails to read `file` whole (MemoryError)."""
    reading = subprocess.run([sys.executable, "-c", f"import numpy; numpy.load({str(file)!r})"], capture_output=True,
                             text=True, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_DATA, (limit, limit)))
    return reading.returncode != 0 and "MemoryError" in reading.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=float, default=2.0, help="GiB of rows (default: 2)")
    parser.add_argument("--limit", type=int, default=640, help="RLIMIT_DATA of the training process, MiB (default: 640)")
    parser.add_argument("--width", type=int, default=256, help="values per row (default: 256)")
    args = parser.parse_args()
    print(f"CPU: {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        file = folder / "rows.npy"
        rows = write_rows(file, args.size, args.width)
        print(f"file: {rows:,} rows × {args.width} float32 = {file.stat().st_size / 2**30:.2f} GiB; "
              f"limit {args.limit} MiB ({file.stat().st_size / (args.limit * 2**20):.1f}× smaller)")
        if not limit_binds(file, args.limit * 2**20):
            raise SystemExit("the limit does not bind: a process under it can read the file whole")
        print("a process under the limit cannot read the file whole (MemoryError)")
        for attempt in ("first (writes the shuffled copy)", "second (from the cache)"):
            run = folder / f"run-{len(attempt)}"
            seconds, peak = train(file, run, args.limit * 2**20, folder / "cache")
            metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
            if [m["samples_seen"] for m in metrics] != [1500, 3000] or not all(
                    math.isfinite(m["test_elbo"]) for m in metrics):
                raise SystemExit(f"unexpected metrics: {metrics}")
            print(f"{attempt}: {seconds:.1f} s, peak resident set {peak / 2**20:.0f} MiB, "
                  f"test ELBO {metrics[-1]['test_elbo']:.2f}, train rows evaluated {metrics[-1]['train_rows_evaluated']:,}")


if __name__ == "__main__":
    main()
