"""One writer per run directory: an exclusive lock (fcntl.flock) on RUN/.lock for as long as a process
trains the run. The kernel releases it when the process ends, however it ends, so a lock left by a
killed process never blocks the next run; the file itself stays, empty but for the holder's pid."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from ..errors import InputError

LOCK_FILE = ".lock"


class RunLocked(InputError):
    """Another live process is training this run directory."""


@contextlib.contextmanager
def locked(run_dir: Path):
    """Hold RUN/.lock while the block runs, creating the directory; one clear error if another process
    holds it. Leftovers of writes that a killed process interrupted (`.*.tmp`) are removed once held."""
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            raise RunLocked(f"{run_dir} is being trained by another process (pid {holder}): wait for it to end, "
                            "or train into another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        for leftover in run_dir.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)   # closing the descriptor releases the lock
