"""The Dataset record every loader returns, and the checks and splits they share."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import InputError
from ..io.images import grey_rows

CHECKED_ROWS = 65_536                            # rows checked at a time (a chunk of a file larger than memory)
MAPPED_BYTES = 2**30                             # .npy files larger than this are memory-mapped, not read in
DEFAULT_VALIDATION_FRACTION = 0.1               # of the training rows, where a data set has no validation split
MAX_VALIDATION_ROWS = 10_000                     # as many as MNIST's validation split
VALIDATION_SEED = 0                              # the rows held out: the same for every run of the same data
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Dataset:
    """Float32 arrays [N, D] per split; `image_shape` (H, W) when the rows are images (for pictures);
    `likelihood` the family that suits the values; `source` says where the data came from;
    `binarize` the binarisation that suits it by default (docs/protocols.md §1: dynamic for MNIST);
    `labels` maps a split name to its integer labels [N] when the data has them; `locator` is what
    `aevb.datasets.load` takes to load the same data again (a registered name or an absolute path), None
    for arrays held in memory; `columns` names the features (a CSV header); `column_specs` gives a table's
    column types (aevb.model.columns; for likelihood "columns"); `test` is None for data without a
    held-out split (arrays in memory)."""

    name: str
    train: torch.Tensor
    valid: torch.Tensor | None
    test: torch.Tensor | None
    image_shape: tuple[int, int] | None
    likelihood: str
    source: str
    labels: dict[str, torch.Tensor] = field(default_factory=dict)
    binarize: str = "none"
    locator: str | None = None
    columns: list[str] | None = None
    column_specs: tuple[dict, ...] = ()

    @property
    def data_dim(self) -> int:
        return self.train.shape[1]

    def with_train_rows(self, n: int | None) -> "Dataset":
        """The same data set with only the first n training rows (all of them for None), e.g. the
        paper's Figure 3 at N_train = 1000."""
        if n is None:
            return self
        if not 2 <= n <= len(self.train):
            raise InputError(f"n_train={n} is outside [2, {len(self.train)}], the training rows of {self.name}")
        labels = {**self.labels, **({"train": self.labels["train"][:n]} if "train" in self.labels else {})}
        return replace(self, train=self.train[:n], labels=labels, source=f"{self.source}; first {n} training rows")

    def with_validation(self, fraction: float | None) -> "Dataset":
        """The data set with the validation split a run monitors: its own where it has one (MNIST's 10 000
        digits, digits' 297 images) and `fraction` is not 0; else `fraction` of the training rows (default
        DEFAULT_VALIDATION_FRACTION, at most MAX_VALIDATION_ROWS), held out of training: a seeded random choice,
        or the last rows of a memory-mapped set (whose rows aevb's cache already holds in shuffled order, and
        which must not be copied). fraction=0: no validation split."""
        if fraction == 0:
            return replace(self, valid=None)
        if self.valid is not None:
            return self
        fraction = DEFAULT_VALIDATION_FRACTION if fraction is None else fraction
        if not 0 < fraction < 1:
            raise InputError(f"validation_fraction={fraction!r} must lie in [0, 1): the share of the training rows "
                             "held out to watch for over-fitting (0: none)")
        n = len(self.train)
        n_valid = min(MAX_VALIDATION_ROWS, max(1, round(n * fraction)))
        if n - n_valid < 2:
            raise InputError(f"{self.name} has {n} training rows, too few to hold out {fraction:g} of them for "
                             "validation: give more rows, or validation_fraction=0")
        if self.train.nbytes > MAPPED_BYTES:                         # slices: views of the map, no copy
            kept, held = slice(None, n - n_valid), slice(n - n_valid, None)
        else:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(VALIDATION_SEED))
            held, kept = order[:n_valid].sort().values, order[n_valid:].sort().values
        labels = dict(self.labels)
        if "train" in labels:
            labels["train"], labels["valid"] = labels["train"][kept], labels["train"][held]
        return replace(self, train=self.train[kept], valid=self.train[held], labels=labels,
                       source=f"{self.source}; {n_valid:,} training rows held out for validation")

    def as_grey(self) -> "Dataset":
        """The same images in grey (BT.601 luma on the 8-bit levels: io.images.grey_rows); grey images as they are."""
        if self.image_shape is None:
            raise InputError(f"--grey is for images, and {self.name} holds rows of features: drop --grey")
        if len(self.image_shape) == 2 or self.image_shape[0] == 1:
            return self

        def grey(x):
            return None if x is None else grey_rows(x, self.image_shape)[0]

        _, height, width = self.image_shape
        return replace(self, train=grey(self.train), valid=grey(self.valid), test=grey(self.test),
                       image_shape=(height, width), source=f"{self.source}; in grey")

    def split(self, name: str) -> torch.Tensor:
        splits = {"train": self.train, "valid": self.valid, "test": self.test}
        if splits.get(name) is None:
            raise InputError(f"split {name!r} is not available for {self.name}; choose one of "
                             f"{[k for k, v in splits.items() if v is not None]}")
        return splits[name]


def as_rows(array: np.ndarray, what: str) -> torch.Tensor:
    """[N, ...] numbers → float32 [N, D], with one clear error for empty, ragged or infinite input. NaN
    marks a missing value (only a per-column likelihood takes it: `likelihood_for`)."""
    if array.dtype.kind not in "biuf":
        raise InputError(f"{what} holds values of type {array.dtype}, not numbers: save a numeric array")
    if array.ndim < 2 or array.shape[0] < 2 or array[0].size == 0:
        raise InputError(f"{what} holds an array of shape {array.shape}; expected [N ≥ 2 datapoints, features...]")
    flat = array.reshape(len(array), -1)                                    # [N, D], a view where it can be
    for start in range(0, len(flat), CHECKED_ROWS):                          # a chunk at a time: `array` may be mapped
        chunk = np.asarray(flat[start:start + CHECKED_ROWS])
        finite = ~np.isinf(chunk).any(1)
        if not finite.all():
            raise InputError(f"{what} contains infinite values (first in row {start + int(np.argmin(finite))}): "
                             "remove them, or mark a missing value with NaN")
        if chunk.dtype.itemsize > 4 and np.nanmax(np.abs(chunk), initial=0) > FLOAT32_MAX:
            raise InputError(f"{what} holds values up to {np.nanmax(np.abs(chunk)):.3g}, beyond float32's range (±3.4e38) "
                             "in which aevb computes: rescale the data, e.g. standardise each column")
    if flat.dtype == np.float32 and flat.flags.c_contiguous:
        return tensor_over(flat)                                             # no copy
    return torch.from_numpy(np.ascontiguousarray(flat, dtype=np.float32))


def tensor_over(array: np.ndarray) -> torch.Tensor:
    """A tensor that shares `array`'s memory, also when that is a read-only memory map of a file (whose
    pages the kernel reads on demand and may drop again: a file larger than memory stays usable). Such a
    tensor must not be written to; aevb never writes into data."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


def likelihood_for(splits: list[torch.Tensor], images: bool) -> str:
    """The likelihood that suits complete data in [0, 1]: the Bernoulli for binary values; for images of other
    values the discretised logistic where every value is an 8-bit level k/255 (an exact probability of the
    pixels), else the continuous Bernoulli (a density on [0, 1]); the Bernoulli for other rows in [0, 1].
    Otherwise the Gaussian for images, and a likelihood per column for a table (which takes missing values,
    NaN, and any units)."""
    chunks = [chunk for x in splits for chunk in x.split(CHECKED_ROWS)]
    complete = not any(bool(torch.isnan(chunk).any()) for chunk in chunks)
    if complete and all(float(x.min()) >= 0 and float(x.max()) <= 1 for x in splits):
        if not images or all(bool(((chunk == 0) | (chunk == 1)).all()) for chunk in chunks):
            return "bernoulli"
        levels = all(bool(((chunk * 255 - (chunk * 255).round()).abs() < 1e-3).all()) for chunk in chunks)
        return "discretized-logistic" if levels else "continuous-bernoulli"
    return "gaussian" if images and complete else "columns"


def split_order(n: int, test_fraction: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded shuffle of n rows, the last `test_fraction` of it (at least one row) the test set:
    (train row indices, test row indices)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_test = max(1, round(n * test_fraction))
    return order[n_test:], order[:n_test]


def shuffled_split(rows: torch.Tensor, test_fraction: float = 0.1, seed: int = 0):
    """The rows of `split_order`, copied: (train, test)."""
    train, test = split_order(len(rows), test_fraction, seed)
    return rows[train], rows[test]
