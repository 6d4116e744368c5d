"""The IDX format of the MNIST files (yann.lecun.com/exdb/mnist): a 4-byte magic number — two zero
bytes, a type code, the number of dimensions — then each dimension as a big-endian int32, then the data."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ..errors import InputError

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(file: Path) -> np.ndarray:
    """The array in an IDX file, gzipped (by its .gz suffix) or not."""
    opener = gzip.open if file.suffix == ".gz" else open
    try:
        with opener(file, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as error:
        raise InputError(f"{file} cannot be read ({error}): the file is corrupt or truncated; delete it and "
                         "fetch it again") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES or data[3] == 0:
        raise InputError(f"{file} is not an IDX file (its first bytes are {data[:4].hex()}, not 0000 type ndim)")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_TYPES[data[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise InputError(f"{file} is an IDX file of shape {shape} that should hold {expected:,} bytes but holds "
                         f"{len(data):,}: it is truncated or corrupt; delete it and fetch it again")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
