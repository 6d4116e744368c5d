"""The Dataset record every loader returns, and the checks and splits they share."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import InputError

CHECKED_ROWS = 65_536                            # rows checked at a time (a chunk of a file larger than memory)
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Dataset:
    """Float32 arrays [N, D] per split; `image_shape` (H, W) when the rows are images (for pictures);
    `likelihood` the family that suits the values; `source` says where the data came from;
    `binarize` the binarisation that suits it by default (docs/protocols.md §1: dynamic for MNIST);
    `labels` maps a split name to its integer labels [N] when the data has them; `locator` is what
    `aevb.datasets.load` takes to load the same data again (a registered name or an absolute path), None
    for arrays held in memory; `columns` names the features (a CSV header); `test` is None for data without a held-out split (arrays in memory)."""

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

    def split(self, name: str) -> torch.Tensor:
        splits = {"train": self.train, "valid": self.valid, "test": self.test}
        if splits.get(name) is None:
            raise InputError(f"split {name!r} is not available for {self.name}; choose one of "
                             f"{[k for k, v in splits.items() if v is not None]}")
        return splits[name]


def as_rows(array: np.ndarray, what: str) -> torch.Tensor:
    """[N, ...] numbers → float32 [N, D], with one clear error for empty, ragged or non-finite input."""
    if array.dtype.kind not in "biuf":
        raise InputError(f"{what} holds values of type {array.dtype}, not numbers: save a numeric array")
    if array.ndim < 2 or array.shape[0] < 2 or array[0].size == 0:
        raise InputError(f"{what} holds an array of shape {array.shape}; expected [N ≥ 2 datapoints, features...]")
    flat = array.reshape(len(array), -1)                                    # [N, D], a view where it can be
    for start in range(0, len(flat), CHECKED_ROWS):                          # a chunk at a time: `array` may be mapped
        chunk = np.asarray(flat[start:start + CHECKED_ROWS])
        finite = np.isfinite(chunk).all(1)
        if not finite.all():
            raise InputError(f"{what} contains NaN or infinite values (first in row {start + int(np.argmin(finite))}): "
                             "remove or impute them first")
        if chunk.dtype.itemsize > 4 and np.abs(chunk).max(initial=0) > FLOAT32_MAX:
            raise InputError(f"{what} holds values up to {np.abs(chunk).max():.3g}, beyond float32's range (±3.4e38) "
                             "in which aevb computes: rescale the data, e.g. standardise each column")
    if flat.dtype == np.float32 and flat.flags.c_contiguous:
        return torch.from_numpy(flat)                                        # no copy
    return torch.from_numpy(np.ascontiguousarray(flat, dtype=np.float32))


def likelihood_for(x: torch.Tensor) -> str:
    """Bernoulli for values in [0, 1] (binary or intensities), Gaussian otherwise."""
    return "bernoulli" if float(x.min()) >= 0 and float(x.max()) <= 1 else "gaussian"


def shuffled_split(rows: torch.Tensor, test_fraction: float = 0.1, seed: int = 0):
    """A seeded shuffle, then the last `test_fraction` (at least one row) as the test set: (train, test)."""
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))
    n_test = max(1, round(len(rows) * test_fraction))
    return rows[order[n_test:]], rows[order[:n_test]]
