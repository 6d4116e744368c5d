"""The data of a run: the rows it trains and validates on (the same whenever the data is loaded again), the
checks made before any step, and the description config.json keeps."""

from __future__ import annotations

import warnings
from pathlib import Path

from .. import datasets
from ..errors import DataWarning, InputError
from ..model.vae import VAE
from .config import TrainConfig


def run_data(run_dir: Path, config: TrainConfig, log) -> datasets.Dataset:
    """The data a run recorded, loaded again for its resumption."""
    if config.data is None:
        raise InputError(f"{run_dir} was trained on an array held in memory, which it does not store: train a new "
                         "run on a data file, or fit again in Python on the same array")
    return split(datasets.load(config.data, data_dir=config.data_dir, log=log, grey=config.grey), config)


def split(dataset: datasets.Dataset, config: TrainConfig) -> datasets.Dataset:
    """The rows a run trains on and the ones it validates on, the same whenever its data is loaded again."""
    dataset = dataset.with_train_rows(config.n_train).with_validation(config.validation_fraction)
    if dataset.valid is None and (config.early_stopping is not None or config.lr_schedule == "plateau"):
        what = "early stopping" if config.early_stopping is not None else "the plateau schedule"
        raise InputError(f"{what} watches the validation bound, and this run holds no rows out for it "
                         f"(validation_fraction={config.validation_fraction!r}): give a validation fraction > 0")
    return dataset


def check_data(model: VAE, dataset: datasets.Dataset, config: TrainConfig) -> None:
    config.budget(len(dataset.train))             # a budget no run could finish is refused before any write
    for split, x in (("train", dataset.train), ("validation", dataset.valid), ("test", dataset.test)):
        if x is None:
            continue
        model.check_data(x, f"the {split} split of {dataset.name}")
        advice = model.likelihood.advice(x[:65_536], f"the {split} split of {dataset.name}")   # a sample suffices
        if split == "train" and config.binarize == "none" and advice:
            warnings.warn(advice, DataWarning, stacklevel=2)
        if config.binarize != "none" and (x.min() < 0 or x.max() > 1):
            raise InputError(f"--binarize {config.binarize} needs intensities in [0, 1], but the {split} split of "
                             f"{dataset.name} spans [{float(x.min()):g}, {float(x.max()):g}]: pass --binarize none")


def data_description(dataset: datasets.Dataset) -> dict:
    return {"name": dataset.name, "source": dataset.source, "n_train": len(dataset.train),
            "n_validation": None if dataset.valid is None else len(dataset.valid),
            "n_test": None if dataset.test is None else len(dataset.test),
            "image_shape": list(dataset.image_shape) if dataset.image_shape else None, "columns": dataset.columns}
