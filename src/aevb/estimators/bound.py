"""The bound over a whole data set, in chunks, with its standard error over datapoints (docs/maths.md §2, §6)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..objectives import elbo
from ..randomness import seeded


@dataclass(frozen=True)
class Estimate:
    """Mean over datapoints of a per-datapoint quantity, and the standard error of that mean."""

    mean: float
    stderr: float
    n: int

    @classmethod
    def of(cls, values: torch.Tensor) -> "Estimate":
        values = values.double()
        n = values.numel()
        stderr = float(values.std(unbiased=True) / math.sqrt(n)) if n > 1 else float("nan")
        return cls(float(values.mean()), stderr, n)


@torch.no_grad()
def elbo_per_datapoint(model, x: torch.Tensor, samples: int = 1, kl: str = "analytic",
                       chunk_size: int = 1000) -> torch.Tensor:
    """elbo(model, x) for every row of x [N, D], `chunk_size` rows at a time: [N]."""
    return torch.cat([elbo(model, chunk, samples=samples, kl=kl) for chunk in x.split(chunk_size)])


def seeded_elbo_per_datapoint(model, x: torch.Tensor, samples: int = 1, kl: str = "analytic",
                              seed: int = 0) -> torch.Tensor:
    """elbo_per_datapoint in eval mode with its own seeded noise, leaving the caller's random stream
    as it was: [N]. The same seed gives the same numbers."""
    with seeded(seed, x.device):
        was_training = model.training
        model.eval()
        try:
            return elbo_per_datapoint(model, x, samples=samples, kl=kl)
        finally:
            model.train(was_training)


def evaluate_elbo(model, x: torch.Tensor, samples: int = 1, kl: str = "analytic", seed: int = 0) -> Estimate:
    """The mean ELBO of x [N, D] in nats per datapoint, with its standard error."""
    return Estimate.of(seeded_elbo_per_datapoint(model, x, samples=samples, kl=kl, seed=seed))
