"""A data file decoded once: its arrays kept as uncompressed .npy files in the cache, keyed by the file's
path, size and modification time, so that the next load reads them straight from disk instead of
decompressing and unpickling (MNIST's mnist.pkl.gz: about a second, against a few hundredths from the
cache; read whole, which was faster here than a memory map for these 55 MB).

A changed source file gets a new key; a cache that cannot be written (read-only, full) is skipped
silently, since it only saves time.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np

from ..io.files import write_json_atomic, write_npy
from .locations import cache_directory

VERSION = 1
INDEX = "arrays.json"


def cache_folder(file: Path, kind: str) -> Path:
    stat = file.stat()
    key = hashlib.sha256(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{kind}|{VERSION}".encode()).hexdigest()
    return cache_directory() / "decoded" / f"{kind}-{key[:16]}"


def decoded(file: Path, kind: str, decode: Callable[[Path], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """decode(file) → named arrays, from the cache when `file` was decoded before."""
    folder = cache_folder(file, kind)
    try:
        names = json.loads((folder / INDEX).read_text())
        return {name: np.load(folder / f"{name}.npy") for name in names}
    except (OSError, ValueError):
        pass
    arrays = decode(file)
    try:
        for name, array in arrays.items():
            write_npy(folder / f"{name}.npy", array)
        write_json_atomic(folder / INDEX, list(arrays))    # written last: its presence means complete
    except OSError:
        pass
    return arrays
