"""The discretised logistic distribution over the 256 levels of an 8-bit channel (Salimans et al. 2017,
without the mixture; docs/maths.md §1).

A level x ∈ {0, 1/255, ..., 1} has the mass of the logistic(μ, s) density on its bin of width 1/255:

    P(x) = σ((x + ½/255 − μ) / s) − σ((x − ½/255 − μ) / s),

with the first bin reaching down to −∞ and the last up to +∞, so the 256 masses sum to 1. −log P in bits,
divided by the number of dimensions, is the bits/dim the field reports for natural images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions import Distribution, constraints

LEVELS = 256
HALF_BIN = 0.5 / (LEVELS - 1)


class DiscretizedLogistic(Distribution):
    """Independent discretised logistics, one per element of loc [...]: batch_shape [...], event_shape ()."""

    arg_constraints = {"loc": constraints.real, "log_scale": constraints.real}
    support = constraints.unit_interval

    def __init__(self, loc: torch.Tensor, log_scale: torch.Tensor, validate_args=False):
        self.loc, self.log_scale = torch.broadcast_tensors(loc, log_scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        inverse_scale = torch.exp(-self.log_scale)
        upper = (x + HALF_BIN - self.loc) * inverse_scale
        lower = (x - HALF_BIN - self.loc) * inverse_scale
        log_cdf_upper = F.logsigmoid(upper)                      # log σ(u): the first bin's mass
        log_survival_lower = F.logsigmoid(-lower)                # log (1 − σ(l)): the last bin's mass
        # log (σ(u) − σ(l)) for an inner bin, computed stably as log σ(u) + log(1 − e^{log σ(l) − log σ(u)}).
        inner = log_cdf_upper + torch.log(-torch.expm1(F.logsigmoid(lower) - log_cdf_upper).clamp(max=-1e-12))
        first, last = x < HALF_BIN, x > 1 - HALF_BIN
        return torch.where(first, log_cdf_upper, torch.where(last, log_survival_lower, inner))

    @property
    def mean(self) -> torch.Tensor:
        """Σ_levels x P(x) over the 256 levels: [...]."""
        levels = torch.linspace(0, 1, LEVELS, dtype=self.loc.dtype, device=self.loc.device)     # [256]
        masses = self.log_prob(levels.view(-1, *[1] * self.loc.dim())).exp()                   # [256, ...]
        return (levels.view(-1, *[1] * self.loc.dim()) * masses).sum(0)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        """A logistic draw rounded to the nearest level and clamped to [0, 1]."""
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device).clamp(1e-6, 1 - 1e-6)
            draw = self.loc + torch.exp(self.log_scale) * (torch.log(u) - torch.log1p(-u))
            return (draw.clamp(0, 1) * (LEVELS - 1)).round() / (LEVELS - 1)

