"""scikit-learn's digits: 1797 images of 8×8 with values 0..16, shipped inside scikit-learn (offline)."""

from __future__ import annotations

import numpy as np
import torch

from .dataset import Dataset


def load_digits(**_) -> Dataset:
    """Scaled to [0, 1] by /16; a fixed seeded split of 1200 train / 297 validation / 300 test."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    order = torch.randperm(len(bunch.data), generator=torch.Generator().manual_seed(0))
    images = torch.from_numpy(bunch.data.astype(np.float32) / 16.0)[order]
    labels = torch.from_numpy(bunch.target.astype(np.int64))[order]
    parts = {"train": slice(0, 1200), "valid": slice(1200, 1497), "test": slice(1497, None)}
    return Dataset("digits", images[parts["train"]], images[parts["valid"]], images[parts["test"]], (8, 8),
                   "bernoulli", "scikit-learn's load_digits", {k: labels[s] for k, s in parts.items()},
                   binarize="dynamic")
