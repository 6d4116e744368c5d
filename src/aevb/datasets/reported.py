"""The data a run is judged on: a split of its data set, binarised once with the fixed seed exactly as
training's reports binarise it, so `aevb evaluate`, the pictures and the report all see the same bits."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch

from ..errors import InputError
from ..io.checkpoint import read_config
from ..io.images import grey_rows
from ..io.run_directory import TEST_BINARIZATION_SEED
from . import load
from .binarization import BINARIZATIONS
from .user_files import Table, read_table


class ReportedSplit(NamedTuple):
    x: torch.Tensor                  # [N, D]
    labels: torch.Tensor | None      # [N]
    data: str                        # the data set's name
    binarize: str                    # the run's binarisation mode


def reported_split(run: Path, split: str, data: str | None = None, data_dir=None) -> ReportedSplit:
    """`split` of RUN's data set (or of `data`, for a model saved without one), binarised for reporting."""
    settings = read_config(run).get("train", {})
    own_data = data is None or data == settings.get("data")
    data = data or settings.get("data")
    if data is None:
        raise InputError(f"{run} does not record its data (it was an array held in memory, or the model was saved "
                         "with model.save): pass --data FILE")
    dataset = load(data, data_dir=data_dir or settings.get("data_dir"), log=lambda *a: None,
                   grey=settings.get("grey", False))
    if settings and own_data:       # the rows the run trained and validated on, split as training split them
        dataset = dataset.with_train_rows(settings.get("n_train")).with_validation(settings.get("validation_fraction", 0))
    binarize = settings.get("binarize", "none")
    x = BINARIZATIONS[binarize].fixed(dataset.split(split), TEST_BINARIZATION_SEED)
    return ReportedSplit(x, dataset.labels.get(split), dataset.name, binarize)


def reported_rows(run: Path, data) -> Table:
    """Every row of the file (or image folder) `data` in its own order, binarised for reporting as RUN's
    training binarised its reports, with the file's column names; a table's levels coded as RUN's model
    codes them."""
    document = read_config(run)
    binarize = document.get("train", {}).get("binarize", "none")
    table = read_table(data)
    if document.get("train", {}).get("grey") and table.image_shape is not None:
        rows, image_shape = grey_rows(table.rows, table.image_shape)
        table = table._replace(rows=rows, image_shape=image_shape)
    specs = document.get("model", {}).get("columns")
    if specs and table.frame is not None:
        from .tables import encode  # pandas, only for tables

        table = table._replace(rows=torch.from_numpy(encode(table.frame, specs)))
    return table._replace(rows=BINARIZATIONS[binarize].fixed(table.rows, TEST_BINARIZATION_SEED))
