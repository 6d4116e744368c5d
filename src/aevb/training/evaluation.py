"""The evaluations of a run: the bound on the test split, the validation split and a fixed subset of the
training rows, each with the same seeded noise at every evaluation, as one row of metrics.jsonl."""

from __future__ import annotations

import time

import torch

from .. import datasets
from ..estimators.bound import Estimate, evaluate_elbo
from ..estimators.importance import importance_sampling
from ..io.run_directory import EVALUATION_SEED, TEST_BINARIZATION_SEED

EVALUATED_TRAIN_ROWS = 10_000       # MNIST's test set; its standard error is about 0.3 nats there
SPLITS = {"train": "train", "validation": "valid", "test": "test"}   # metrics.jsonl's names: Dataset's


def evaluated_train_rows(dataset: datasets.Dataset, config) -> torch.Tensor:
    """The training rows whose bound every evaluation reports [n, D]: all of them with
    `full_train_evaluation`, else a fixed random subset as large as the test set and at most
    EVALUATED_TRAIN_ROWS (its bound agrees with the full one within its standard error, at a fraction of
    the cost; the subset is copied, so a data set larger than memory needs the cap), in the training
    set's order."""
    n_train = len(dataset.train)
    n_evaluated = min(EVALUATED_TRAIN_ROWS, len(dataset.test) if dataset.test is not None else n_train)
    if config.full_train_evaluation or n_train <= n_evaluated:
        return dataset.train
    chosen = torch.randperm(n_train, generator=torch.Generator().manual_seed(EVALUATION_SEED))[:n_evaluated]
    return dataset.train[chosen.sort().values]


def evaluation_sets(dataset: datasets.Dataset, config, binarization, device) -> dict[str, torch.Tensor]:
    """{metrics name: rows [n, D]} of every split the run evaluates, binarised once with the fixed seed."""
    rows = {"train": evaluated_train_rows(dataset, config), "validation": dataset.valid, "test": dataset.test}
    return {split: binarization.fixed(x, TEST_BINARIZATION_SEED).to(device) for split, x in rows.items()
            if x is not None}


def evaluate(model, eval_sets: dict[str, torch.Tensor], state, n_train: int, validation_k: int = 1) -> dict:
    """One row of metrics: the bound of every evaluated split (estimator B: least noise) where the run stands,
    and with validation_k > 1 the IWAE bound L_k of the validation split (`watched_bound`)."""
    started = time.perf_counter()
    row = {"step": state.step, "samples_seen": state.samples_seen, "epoch": round(state.samples_seen / n_train, 4)}
    for split, x in eval_sets.items():
        row[f"{split}_elbo"] = evaluate_elbo(model, x, seed=EVALUATION_SEED).mean
    if validation_k > 1 and "validation" in eval_sets:
        row["validation_iwae_bound"] = Estimate.of(importance_sampling(
            model, eval_sets["validation"], validation_k, seed=EVALUATION_SEED).log_likelihood).mean
    row["train_rows_evaluated"] = len(eval_sets["train"])
    row["seconds"] = round(state.seconds, 3)                       # the run's time before this evaluation
    row["evaluation_seconds"] = round(time.perf_counter() - started, 3)
    return row


def watched_bound(config) -> str:
    """The metric early stopping, the best weights and the plateau schedule watch: the validation ELBO, or
    its IWAE bound L_k (nearer log p(x)) with validation_k > 1."""
    return "validation_iwae_bound" if config.validation_k > 1 else "validation_elbo"


def describe(row: dict, n_train: int) -> str:
    """The progress line of an evaluation."""
    subset = "" if row["train_rows_evaluated"] == n_train else f" ({row['train_rows_evaluated']:,} rows)"
    others = "".join(f"  {split} ELBO {row[f'{split}_elbo']:.2f}" for split in ("validation", "test")
                     if f"{split}_elbo" in row)
    if "validation_iwae_bound" in row:
        others += f"  validation L_k {row['validation_iwae_bound']:.2f}"
    return (f"epoch {row['epoch']:.2f}  samples {row['samples_seen']:,}  train ELBO{subset} {row['train_elbo']:.2f}"
            f"{others} nats  ({row['seconds']:.0f} s)")
