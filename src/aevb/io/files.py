"""Atomic writes: a file is either its old self or complete, never half written."""

from __future__ import annotations

import io
import json
import os
import secrets
from pathlib import Path

from ..errors import InputError


def write_bytes_atomic(path, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, rename it over `path`, then flush the
    directory (so that the rename itself survives a power cut)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # Mode 0666 filtered by the process's umask, as for any new file: no need to read (and flip) the umask.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_npy(path, array) -> None:
    """A NumPy array as a .npy file, atomically."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array)
    write_bytes_atomic(path, buffer.getvalue())


def write_csv(path, rows: list[dict], columns: list[str]) -> None:
    """Rows as a CSV file with a header of `columns` (other keys are left out), atomically."""
    import csv

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_bytes_atomic(path, buffer.getvalue().encode())


def write_rows(path, columns: list[str], values) -> None:
    """A table [N, len(columns)] as FILE.csv (a header of `columns`, numbers to float32's precision, text as
    it is, an empty cell for NaN or None) or FILE.npy (the array alone), atomically; any other name is
    refused before anything is written."""
    import csv
    import io
    import math

    import numpy as np

    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".npy"):
        raise InputError(f"{path}: name a .csv (a table with a header) or a .npy (an array) file")
    values = np.asarray(values)
    if suffix == ".npy":
        write_npy(path, values)
        return

    def cell(value) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return f"{value:.9g}" if isinstance(value, float) else str(value)

    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([cell(v) for v in row] for row in values.tolist())
    write_bytes_atomic(path, text.getvalue().encode())


def write_json_atomic(path, value) -> None:
    write_bytes_atomic(path, (json.dumps(value, indent=2) + "\n").encode())

