"""TrainConfig, the settings of Algorithm 1, and the registries its names are chosen from: objectives,
optimisers, precisions and the spacing of evaluations."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

import torch

from ..datasets.binarization import BINARIZATIONS
from ..errors import InputError, check_choice
from ..objectives import ESTIMATORS, autoencoder_reconstruction, elbo, iwae_bound, wake_sleep_surrogate
from .schedules import LR_SCHEDULES


@dataclass(frozen=True)
class Objective:
    """What training maximises: `draws(config)` values of ε per datapoint, and `bound(model, x, config,
    noise, beta)`, the objective per datapoint [B] given x [B, D], ε [draws, B, Nz] and the step's weight β of
    the KL term (where the objective has one: `weighs_kl`)."""

    draws: Callable[["TrainConfig"], int]
    bound: Callable
    weighs_kl: bool = False


OBJECTIVES = {   # the training loop checks its data against the likelihood once, before the first step
    "elbo": Objective(lambda config: config.samples,
                      lambda model, x, config, noise, beta: elbo(model, x, config.samples, ESTIMATORS[config.estimator],
                                                                 beta, noise, check=False),
                      weighs_kl=True),
    "iwae": Objective(lambda config: config.k,
                      lambda model, x, config, noise, beta: iwae_bound(model, x, config.k, noise, check=False)),
    "wake-sleep": Objective(lambda config: 1,
                            lambda model, x, config, noise, beta: wake_sleep_surrogate(model, x, noise)),
    "autoencoder": Objective(lambda config: 1,
                             lambda model, x, config, noise, beta: autoencoder_reconstruction(model, x)),
}


@dataclass(frozen=True)
class Optimizer:
    """A torch.optim class and its default step size."""

    make: type
    default_lr: float


OPTIMIZERS = {"adam": Optimizer(torch.optim.Adam, 1e-3), "adagrad": Optimizer(torch.optim.Adagrad, 0.02)}
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}   # the autocast dtype of the training step's layers


def _next_linear(samples_seen: int, config: "TrainConfig", n_train: int) -> int:
    every = config.eval_every or n_train
    return (samples_seen // every + 1) * every


def _next_logarithmic(samples_seen: int, config: "TrainConfig", n_train: int) -> int:
    """The next of 1000·10^(j/4), j = 0, 1, ...: four evaluations per decade, for log-axis curves."""
    j = max(0, math.floor(4 * math.log10(max(samples_seen, 1) / 1000)))
    while round(1000 * 10 ** (j / 4)) <= samples_seen:
        j += 1
    return round(1000 * 10 ** (j / 4))


EVAL_SPACINGS = {"linear": _next_linear, "log": _next_logarithmic}

SMALL_DATA_ROWS = 20_000         # training rows up to which `until_no_better` is the command line's default budget
PATIENCE = 10                    # its evaluations in a row without a better validation bound
EPOCHS_CAP = 1000                # its cap, in passes
STEPS_BETWEEN_EVALUATIONS = 50   # its evaluations: every pass, or every this many steps where a pass is shorter


def until_no_better(n_train: int, batch_size: int) -> dict:
    """The budget for small data when none is given: until PATIENCE evaluations in a row bring no better
    validation bound, at most EPOCHS_CAP passes, evaluated every pass or every STEPS_BETWEEN_EVALUATIONS steps,
    whichever is longer (so that 300 images, three steps a pass, are judged over hundreds of steps)."""
    return {"early_stopping": PATIENCE, "epochs": EPOCHS_CAP, "max_samples": None,
            "eval_every": max(n_train, STEPS_BETWEEN_EVALUATIONS * batch_size)}
LARGEST_BUDGET = 2**53   # datapoints: counts stay exact in JSON numbers (and it is centuries of training)


@dataclass(frozen=True)
class TrainConfig:
    """Settings of Algorithm 1. The budget is `epochs` or `max_samples` (datapoints seen), whichever
    ends first; training stops at the first minibatch boundary at or past it. `eval_every` counts
    datapoints between evaluations (default: one epoch); eval_spacing="log" evaluates instead at
    1000·10^(j/4) datapoints, for curves on a log axis like the paper's. Each evaluation reports the
    bound on the test set and on a fixed subset of the training set as large as the test set (at most
    10 000 rows), or on the whole training set with `full_train_evaluation`."""

    data: str = "mnist"
    data_dir: str | None = None
    binarize: str = "dynamic"
    grey: bool = False                  # colour images turned grey (Dataset.as_grey)
    objective: str = "elbo"
    estimator: str = "B"
    samples: int = 1
    k: int = 5
    beta: float = 1.0
    batch_size: int = 100
    optimizer: str = "adam"
    lr: float | None = None
    lr_schedule: str = "constant"       # a name in LR_SCHEDULES (training/schedules.py)
    lr_warmup: int = 0                  # steps over which the step size rises linearly to lr
    kl_warmup: int = 0                  # steps over which β rises linearly from 0 (objective "elbo" only)
    epochs: float | None = 10   # about a minute for the paper's MNIST model on 2 cores
    max_samples: int | None = None
    n_train: int | None = None          # train on the first n_train rows of the train split (default: all)
    weight_prior: bool = False
    eval_every: int | None = None
    validation_fraction: float | None = None   # None: the data's own validation split, else 10 % of the training rows
    early_stopping: int | None = None   # stop after this many evaluations in a row without a better validation bound
    min_improvement: float = 0.01       # nats per datapoint by which a validation bound must beat the best to count
    validation_k: int = 1               # the watched validation bound: 1 the ELBO, k > 1 the IWAE bound L_k
    eval_spacing: str = "linear"
    full_train_evaluation: bool = False  # the train bound on every training row, not a test-set-sized subset
    seed: int = 0
    device: str = "cpu"
    precision: str = "fp32"             # "bf16": the training step's layers under autocast (kernels/dense.py)

    def __post_init__(self) -> None:
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("binarize", self.binarize, BINARIZATIONS)
        check_choice("objective", self.objective, OBJECTIVES)
        check_choice("estimator", self.estimator, ESTIMATORS)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("eval_spacing", self.eval_spacing, EVAL_SPACINGS)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        for name in ("lr_warmup", "kl_warmup"):
            value = getattr(self, name)
            if not (isinstance(value, int) and 0 <= value <= LARGEST_BUDGET):
                raise InputError(f"{name}={value!r} must be a whole number of steps ≥ 0 (0: none)")
        if self.early_stopping is not None and not (isinstance(self.early_stopping, int) and self.early_stopping >= 1):
            raise InputError(f"early_stopping={self.early_stopping!r} must be a positive whole number of evaluations "
                             "(the patience), or None")
        if not 0 <= self.min_improvement < math.inf:
            raise InputError(f"min_improvement={self.min_improvement!r} must be a finite number of nats ≥ 0")
        if self.validation_fraction is not None and not 0 <= self.validation_fraction < 1:
            raise InputError(f"validation_fraction={self.validation_fraction!r} must lie in [0, 1): the share of the "
                             "training rows held out to watch for over-fitting (0: none)")
        if self.kl_warmup and not OBJECTIVES[self.objective].weighs_kl:
            raise InputError(f"kl_warmup={self.kl_warmup} weighs the KL term of the ELBO, and objective="
                             f"{self.objective!r} has none: drop it, or train with objective='elbo'")
        for name in ("samples", "batch_size", "k", "validation_k"):
            if getattr(self, name) < 1:
                raise InputError(f"{name}={getattr(self, name)!r} must be a positive integer")
        if self.epochs is None and self.max_samples is None:
            raise InputError("no budget: give epochs or max_samples")
        for name in ("epochs", "max_samples", "eval_every", "lr"):
            value = getattr(self, name)
            if value is not None and not 0 < value < math.inf:
                raise InputError(f"{name}={value!r} must be a finite number > 0")
        if self.max_samples is not None and self.max_samples > LARGEST_BUDGET:
            raise InputError(f"max_samples={self.max_samples:.3g} is beyond 2**53 ≈ 9.0e15 datapoints, which no run "
                             "finishes (centuries even at a million per second): choose a smaller budget")
        if not 0 <= self.beta < math.inf:
            raise InputError(f"beta={self.beta!r} must be a finite number ≥ 0 (the weight of the KL term; 1 is the bound)")

    @classmethod
    def from_dict(cls, values: dict, where: str = "the training settings") -> "TrainConfig":
        """A TrainConfig from a JSON object (config.json's "train" section), naming unknown keys."""
        values = {"validation_fraction": 0.0, **values}   # runs written before validation splits hold none
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"{where} hold unknown keys {unknown}: this aevb knows {sorted(known)}; the run was "
                             "written by another version, or the file was edited")
        return cls(**values)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else OPTIMIZERS[self.optimizer].default_lr

    @property
    def draws(self) -> int:
        """Values of ε per datapoint in a training step."""
        return OBJECTIVES[self.objective].draws(self)

    def budget(self, n_train: int) -> int:
        """Datapoints to see in the whole run."""
        limits = [self.max_samples, None if self.epochs is None else math.ceil(self.epochs * n_train)]
        budget = int(min(limit for limit in limits if limit is not None))
        if budget > LARGEST_BUDGET:
            raise InputError(f"epochs={self.epochs:g} of {n_train:,} rows is {budget:.3g} datapoints, beyond 2**53 ≈ "
                             "9.0e15, which no run finishes: choose fewer epochs")
        return budget
