"""Schedules: the step size and the KL weight β at each step of a run, as registry entries.

A step-size schedule is a factor in (0, 1] of `--lr`, a function of where the run stands alone (its step,
datapoints seen, budget and, for `plateau`, how many times the monitored bound stopped improving), so a run
resumed from its checkpoint continues on exactly the schedule of one never interrupted. On top of any
schedule, `lr_warmup` steps raise the step size linearly from lr/warmup to lr, and `kl_warmup` steps raise
β linearly from 0 to its configured value (the KL annealing of Bowman et al. 2016 and Sønderby et al. 2016).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

PLATEAU_FACTOR = 0.5      # plateau: the step size is halved ...
PLATEAU_PATIENCE = 4      # ... after this many evaluations in a row without a better monitored bound


@dataclass(frozen=True)
class Where:
    """Where a run stands, as the schedules see it."""

    step: int                 # optimiser steps taken before this one
    samples_seen: int         # datapoints seen, this step's included
    budget: int               # datapoints the whole run sees
    n_train: int              # rows in one pass
    lr_reductions: int = 0    # plateau: halvings so far


def _constant(where: Where) -> float:
    return 1.0


def _cosine(where: Where) -> float:
    """½(1 + cos(π t/T)) over the budget T (Loshchilov & Hutter 2017, one cycle, down to 0)."""
    return 0.5 * (1 + math.cos(math.pi * min(1.0, where.samples_seen / where.budget)))


def _iwae(where: Where) -> float:
    """Burda et al.'s schedule: stage i lasts 3^i passes at 10^(−i/7), i = 0, 1, ... (3280 passes to i = 7)."""
    passes = where.samples_seen / where.n_train
    stage, stage_end = 0, 1
    while passes >= stage_end:
        stage += 1
        stage_end += 3**stage
    return 10 ** (-stage / 7)


def _plateau(where: Where) -> float:
    return PLATEAU_FACTOR**where.lr_reductions


@dataclass(frozen=True)
class StepSizeSchedule:
    factor: Callable[[Where], float]
    help: str


LR_SCHEDULES = {
    "constant": StepSizeSchedule(_constant, "the same step size throughout"),
    "cosine": StepSizeSchedule(_cosine, "½(1 + cos(π·t/T)) over the budget, to 0 at its end"),
    "iwae": StepSizeSchedule(_iwae, "Burda et al.'s: 3^i passes at lr·10^(−i/7), i = 0…7 in 3,280 passes"),
    "plateau": StepSizeSchedule(_plateau, f"halved after {PLATEAU_PATIENCE} evaluations in a row without a better "
                                          "validation bound"),
}


def step_size(lr: float, schedule: str, lr_warmup: int, where: Where) -> float:
    """The step size of the step after `where.step` steps."""
    warm = min(1.0, (where.step + 1) / lr_warmup) if lr_warmup else 1.0
    return lr * warm * LR_SCHEDULES[schedule].factor(where)


def kl_weight(beta: float, kl_warmup: int, step: int) -> float:
    """β of the step after `step` steps: rising linearly from 0 over `kl_warmup` steps, then β."""
    return beta * min(1.0, step / kl_warmup) if kl_warmup else beta
