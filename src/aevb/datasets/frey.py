"""Frey Face (docs/protocols.md §1): 1965 grey faces of 28×20 from `frey_rawface.mat` (variable `ff`, uint8,
560 × 1965), intensities /256 as in the author's code, the first 1600 for training and the other
365 held out; a Gaussian likelihood by default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataNotFound, InputError
from .dataset import Dataset
from .download import DownloadError, fetch
from .locations import cache_directory, data_directories, find_file

FILE_NAME = "frey_rawface.mat"
URLS = ["https://cs.nyu.edu/~roweis/data/frey_rawface.mat"]
N_TRAIN = 1600


def read_frey(file: Path) -> np.ndarray:
    """The faces as uint8 [1965, 560], checked to be the expected variable and shape."""
    import scipy.io  # about 0.15 s to import, for this file format only

    try:
        contents = scipy.io.loadmat(file)
    except Exception as error:   # scipy raises several types for a file that is not a .mat
        raise InputError(f"{file} is not a readable MATLAB file ({error}); delete it and fetch it again") from None
    if "ff" not in contents:
        raise InputError(f"{file} has no variable 'ff' (it has {sorted(k for k in contents if not k.startswith('__'))}); "
                         "it is not frey_rawface.mat")
    faces = contents["ff"]
    if faces.shape != (560, 1965) or faces.dtype != np.uint8:
        raise InputError(f"{file}: 'ff' is {faces.dtype} {faces.shape}, expected uint8 (560, 1965)")
    return faces.T


def load_frey(data_dir=None, download: bool = True, log=print) -> Dataset:
    file = find_file([FILE_NAME], data_dir, "frey")
    if file is None:
        if not download:
            raise DataNotFound(_missing(data_dir, "downloading was not allowed"))
        file = cache_directory() / "frey" / FILE_NAME
        try:
            fetch(URLS, file, validate=read_frey, log=log)
        except DownloadError as error:
            raise DataNotFound(_missing(data_dir, str(error))) from None
    faces = torch.from_numpy(read_frey(file).astype(np.float32) / 256.0)            # [1965, 560]
    return Dataset("frey", faces[:N_TRAIN], None, faces[N_TRAIN:], (28, 20), "gaussian", str(file))


def _missing(data_dir, failure: str) -> str:
    searched = ", ".join(str(d) for d in data_directories(data_dir))
    return (f"Frey Face was not found: put {FILE_NAME} in a data directory (--data-dir DIR or AEVB_DATA=DIR; "
            f"searched: {searched}), or let aevb download it from {URLS[0]} (this failed: {failure})")
