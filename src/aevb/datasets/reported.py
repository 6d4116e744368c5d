"""The data a run is judged on: a split of its data set, binarised once with the fixed seed exactly as
training's reports binarise it, so `aevb evaluate`, the pictures and the report all see the same bits."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch

from ..io.checkpoint import read_config
from ..io.run_directory import TEST_BINARIZATION_SEED
from . import load
from .binarization import BINARIZATIONS


class ReportedSplit(NamedTuple):
    x: torch.Tensor                  # [N, D]
    labels: torch.Tensor | None      # [N]
    data: str                        # the data set's name
    binarize: str                    # the run's binarisation mode


def reported_split(run: Path, split: str, data: str | None = None, data_dir=None) -> ReportedSplit:
    """`split` of RUN's data set (or of `data`, for a model saved without one), binarised for reporting."""
    settings = read_config(run).get("train", {})
    data = data or settings.get("data")
    if data is None:
        raise ValueError(f"{run} does not record its data set (a model saved with model.save): pass --data")
    dataset = load(data, data_dir=data_dir or settings.get("data_dir"), log=lambda *a: None)
    binarize = settings.get("binarize", "none")
    x = BINARIZATIONS[binarize].fixed(dataset.split(split), TEST_BINARIZATION_SEED)
    return ReportedSplit(x, dataset.labels.get(split), dataset.name, binarize)
