"""Training on a .npy file larger than the memory a process may allocate.

Writes SIZE GiB of Gaussian rows, then runs `aevb train` on it in a child process whose RLIMIT_DATA (heap
and private memory) is LIMIT MiB, and prints the file's size, the limit, the child's peak resident set
(which counts the file's pages while they are mapped; the kernel may drop them again) and the time of the
first load (the shuffled copy into the cache) against the second (from the cache).

    python benchmarks/large_npy.py --size 2 --limit 640
"""

from __future__ import annotations

import argparse
import os
import resource
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
               "--likelihood", "gaussian", "--max-samples", "3000", "--eval-every", "1500", "--quiet", "--out", str(out)]
    pid = os.fork()
    if pid == 0:                                  # the child: limit, then become `aevb train`
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        os.execve(sys.executable, command, {**os.environ, "XDG_CACHE_HOME": str(cache)})
    started = time.perf_counter()
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"aevb train failed (exit {os.waitstatus_to_exitcode(status)})")
    return time.perf_counter() - started, usage.ru_maxrss * 1024


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
        for attempt in ("first (writes the shuffled copy)", "second (from the cache)"):
            seconds, peak = train(file, folder / f"run-{len(attempt)}", args.limit * 2**20, folder / "cache")
            print(f"{attempt}: {seconds:.1f} s, peak resident set {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
