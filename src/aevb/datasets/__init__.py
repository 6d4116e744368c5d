"""Data sets by name or path: `load("mnist")`, `load("frey")`, `load("digits")`, `load("patches")`, `load("x.npy")`,
`load("x.npz")`, `load("x.csv")`, `load("folder/")` (PNG/JPEG images).

Every loader returns a `Dataset`: train / validation / test arrays [N, D], the image shape for
pictures, a suitable default likelihood and a sentence saying where the data came from. New names
go into NAMED_DATASETS, new file kinds into FILE_LOADERS.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import DataNotFound, InputError
from .dataset import Dataset
from .digits import load_digits
from .frey import load_frey
from .mnist import load_mnist
from .patches import load_patches
from .user_files import FILE_LOADERS, load_image_folder

NAMED_DATASETS = {"mnist": load_mnist, "frey": load_frey, "digits": load_digits, "patches": load_patches}


def load(name_or_path, data_dir=None, download: bool = True, log=print, grey: bool = False) -> Dataset:
    """A data set by registered name, a data file by its suffix, or a folder of images.

    data_dir: where to look for MNIST and Frey Face files first (else $AEVB_DATA, then the cache);
    download: whether MNIST and Frey Face may be downloaded into the cache when found nowhere;
    grey: colour images turned grey (`Dataset.as_grey`).
    """
    dataset = _load(name_or_path, data_dir, download, log)
    return dataset.as_grey() if grey else dataset


def _load(name_or_path, data_dir, download: bool, log) -> Dataset:
    name = str(name_or_path)
    if name in NAMED_DATASETS:
        return replace(NAMED_DATASETS[name](data_dir=data_dir, download=download, log=log), locator=name)
    path = Path(name).expanduser()
    if path.is_dir():
        return replace(load_image_folder(path), locator=str(path.resolve()))
    if path.suffix.lower() in FILE_LOADERS:
        if not path.is_file():
            raise DataNotFound(f"data file {path} does not exist")
        return replace(FILE_LOADERS[path.suffix.lower()](path), locator=str(path.resolve()))
    raise InputError(f"--data {name!r} is neither a known data set {sorted(NAMED_DATASETS)}, a folder of images, "
                     f"nor a file of a known kind {sorted(FILE_LOADERS)}")


__all__ = ["Dataset", "load", "NAMED_DATASETS", "FILE_LOADERS"]
