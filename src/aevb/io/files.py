"""Atomic writes: a file is either its old self or complete, never half written."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path


def write_bytes_atomic(path, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    """A table [N, len(columns)] as FILE.csv (a header of `columns`, numbers to float32's precision) or
    FILE.npy (the array alone), atomically; any other name is refused before anything is written."""
    import numpy as np

    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".npy"):
        raise ValueError(f"{path}: name a .csv (a table with a header) or a .npy (an array) file")
    values = np.asarray(values)
    if suffix == ".npy":
        write_npy(path, values)
        return
    lines = [",".join(columns)] + [",".join(f"{v:.9g}" if isinstance(v, float) else str(v) for v in row)
                                   for row in values.tolist()]
    write_bytes_atomic(path, ("\n".join(lines) + "\n").encode())


def write_json_atomic(path, value) -> None:
    write_bytes_atomic(path, (json.dumps(value, indent=2) + "\n").encode())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
