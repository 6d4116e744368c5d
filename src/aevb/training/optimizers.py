"""The optimiser of a run: torch's fused Adam or Adagrad, the MAP weight prior as its weight decay, and the
step size each step takes from its schedule."""

from __future__ import annotations

import torch

from .config import OPTIMIZERS, TrainConfig
from .schedules import Where, step_size


def make_optimizer(model, config: TrainConfig, n_train: int) -> torch.optim.Optimizer:
    """The fused implementation (one kernel for all parameters) where the device has one; the
    arithmetic is the same as the per-parameter loop."""
    optimizer_class = OPTIMIZERS[config.optimizer].make
    options = {"lr": config.learning_rate, "weight_decay": weight_decay(config, n_train)}
    try:
        return optimizer_class(model.parameters(), **options, fused=True)
    except (RuntimeError, TypeError):
        return optimizer_class(model.parameters(), **options)


def weight_decay(config: TrainConfig, n_train: int) -> float:
    """The MAP weight prior (docs/maths.md §5) as the optimiser's weight decay: the per-datapoint objective has
    the term log p(θ)/N = −Σθ²/(2N), whose gradient −θ/N is what Adam's and Adagrad's (coupled, not
    AdamW's decoupled) weight_decay = 1/N adds to the gradient. One fused kernel instead of an autograd
    graph over every parameter (1.4–2.3 ms of a 3.3–3.7 ms step on the paper's MNIST model)."""
    return 1.0 / n_train if config.weight_prior else 0.0


def set_weight_decay(optimizer: torch.optim.Optimizer, config: TrainConfig, n_train: int) -> None:
    for group in optimizer.param_groups:
        group["weight_decay"] = weight_decay(config, n_train)


def set_step_size(optimizer: torch.optim.Optimizer, config: TrainConfig, where: Where) -> None:
    lr = step_size(config.learning_rate, config.lr_schedule, config.lr_warmup, where)
    for group in optimizer.param_groups:
        group["lr"] = lr
