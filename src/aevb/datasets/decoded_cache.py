"""A data file decoded once: its arrays kept as uncompressed .npy files in the cache, keyed by the file's
path, size and modification time, so that the next load reads them straight from disk instead of
decompressing and unpickling (MNIST's mnist.pkl.gz: about a second, against a few hundredths from the
cache; read whole, which was faster here than a memory map for these 55 MB).

A changed source file gets a new key; a cache that cannot be written (read-only, full) is skipped
silently, since it only saves time.

A .npy file larger than memory is split once into shuffled copies of its rows in the cache
(`shuffled_copies`), read from then on through memory maps; these copies are needed, so a cache that
cannot hold them is an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import InputError
from ..io.files import write_json_atomic, write_npy
from .dataset import tensor_over
from .locations import cache_directory

COPIED_BYTES = 64 * 2**20            # rows gathered at a time into a shuffled copy

VERSION = 1
INDEX = "arrays.json"


def cache_folder(file: Path, kind: str) -> Path:
    stat = file.stat()
    key = hashlib.sha256(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{kind}|{VERSION}".encode()).hexdigest()
    return cache_directory() / "decoded" / f"{kind}-{key[:16]}"


def decoded(file: Path, kind: str, decode: Callable[[Path], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """decode(file) → named arrays, from the cache when `file` was decoded before."""
    folder = cache_folder(file, kind)
    cached = _read_cached(folder)
    if cached is not None:
        return cached
    arrays = decode(file)
    try:
        for name, array in arrays.items():
            write_npy(folder / f"{name}.npy", array)
        write_json_atomic(folder / INDEX, list(arrays))    # written last: its presence means complete
    except OSError:
        pass
    return arrays


def shuffled_copies(file: Path, rows: torch.Tensor, splits: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    """For rows [N, D] (a memory map of `file`) and row indices per split: each split's rows in that
    order, as a read-only memory map of a .npy in the cache, written (a chunk at a time) on first use."""
    folder = cache_folder(file, f"split-{len(splits)}")
    names = [f"split{i}" for i in range(len(splits))]
    cached = _read_cached(folder, mmap_mode="r")
    if cached is not None and list(cached) == names:
        return [tensor_over(cached[name]) for name in names]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, indices in zip(names, splits):
            _write_rows(folder / f"{name}.npy", rows, indices)
        write_json_atomic(folder / INDEX, names)              # written last: its presence means complete
    except OSError as error:
        raise InputError(f"{file} is larger than memory and is read in a shuffled copy in {folder}, which could not "
                         f"be written ({error.strerror or error}; it needs {rows.nbytes / 2**30:.1f} GiB): free space "
                         "there or point XDG_CACHE_HOME at a disk with room") from None
    return [tensor_over(np.load(folder / f"{name}.npy", mmap_mode="r")) for name in names]


def _read_cached(folder: Path, mmap_mode: str | None = None) -> dict[str, np.ndarray] | None:
    """The arrays a complete cache folder holds (its index lists them), or None when it is absent or damaged."""
    try:
        names = json.loads((folder / INDEX).read_text())
        return {name: np.load(folder / f"{name}.npy", mmap_mode=mmap_mode) for name in names}
    except (OSError, ValueError):
        return None


def _write_rows(path: Path, rows: torch.Tensor, indices: torch.Tensor) -> None:
    """rows[indices] into the .npy `path`, through a temporary file renamed into place."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(indices), rows.shape[1]))
        step = max(1, COPIED_BYTES // max(1, rows.shape[1] * 4))
        for start in range(0, len(indices), step):
            out[start:start + step] = rows[indices[start:start + step]].numpy()
        out.flush()
        del out
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
