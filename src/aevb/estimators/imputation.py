"""Missing values filled by self-normalised importance sampling (MIWAE, Mattei & Frellsen 2019; docs/maths.md §7).

For a row with observed cells x_o and missing cells x_m, draw z_j ~ r(z) (j = 1..k) and weigh them by

    w_j ∝ p(x_o | z_j) p(z_j) / r(z_j),    Σ_j w_j = 1

Then Σ_j w_j E[x_m | z_j] estimates E[x_m | x_o] (single imputation; for binary and categorical columns,
the most probable value of Σ_j w_j p(x_m | z_j)), and drawing j with probability w_j, then x_m ~ p(x_m | z_j),
draws from p(x_m | x_o) (sampling importance resampling: multiple imputation). The estimates are
consistent in k for any proposal r that covers the posterior.

The proposal is q(z | x_o) when the encoder sees the mask of observed cells (a table's). An encoder
trained on complete rows (images) is too sure of itself for half a row: its q(z | completion), with the
missing cells completed by the model's own reconstruction (a few rounds from a zero fill, Rezende et al.
2014) and its scale doubled, only starts an adaptation (population Monte Carlo, Cappé et al. 2004):
each round refits a diagonal Gaussian to the weighted draws (its scale × 1.5, to stay wider than the
posterior), and the estimates of the second half of the rounds are averaged. Observed cells are
returned unchanged.
"""

from __future__ import annotations

import torch
from torch.distributions import Normal

from ..errors import InputError
from ..randomness import seeded

WORK_ELEMENTS = 2**24      # k × rows × D values held at a time
ADAPTATIONS = 10           # rounds of population Monte Carlo for an encoder trained on complete rows


@torch.no_grad()
def impute(model, x: torch.Tensor, k: int = 1000, seed: int | None = 0, rounds: int = 5) -> torch.Tensor:
    """x [N, D] with NaN in its missing cells → the estimate of E[x_m | x_o] in them: [N, D]."""
    return _per_chunk(model, x, k, seed, rounds, lambda p_x, weights: _weighted_point(p_x, weights))


@torch.no_grad()
def sample_imputations(model, x: torch.Tensor, n: int, k: int = 1000, seed: int | None = 0,
                       rounds: int = 5) -> torch.Tensor:
    """n completions of x [N, D] drawn from p(x_m | x_o) by sampling importance resampling: [n, N, D]."""
    if not (isinstance(n, int) and n >= 1):
        raise InputError(f"n={n!r} must be a positive integer (completions per row)")

    def draws(p_x, weights):                                                   # weights [k, B]
        chosen = torch.multinomial(weights.T, n, replacement=True).T           # [n, B] indices into k
        values = p_x.sample()                                                  # [k, B, D]
        return values.gather(0, chosen[..., None].expand(n, *values.shape[1:]))   # [n, B, D]

    return _per_chunk(model, x, k, seed, rounds, draws, leading=(n,))


def _per_chunk(model, x: torch.Tensor, k: int, seed: int | None, rounds: int, fill, leading=()) -> torch.Tensor:
    """fill(p(x | z_j), normalised weights [k, B]) per chunk of rows: averaged over the rounds kept for an
    estimate, the last round's for draws (leading = (n,))."""
    if k < 1:
        raise InputError(f"k={k!r} must be a positive integer (importance samples per row)")
    model.check_data(x, "the rows to impute", missing=True)
    was_training = model.training
    model.eval()
    try:
        with seeded(seed, x.device):
            adaptations = 1 if model.likelihood.takes_missing else ADAPTATIONS
            # The same ε for every row (a row's result depends on it alone): [rounds, k, 1, Nz].
            noise = torch.randn(adaptations, k, 1, model.config.latent_dim, dtype=x.dtype, device=x.device)
            rows = max(1, WORK_ELEMENTS // (k * x.shape[1]))
            parts = []
            for chunk in x.split(rows):
                observed = ~torch.isnan(chunk)
                estimates = [fill(p_x, torch.softmax(log_w, 0)) for p_x, log_w
                             in _weighted_draws(model, chunk, observed, noise, rounds)]
                filled = estimates[-1] if leading else torch.stack(estimates).mean(0)
                parts.append(torch.where(observed, chunk, filled))
            return torch.cat(parts, len(leading))
    finally:
        model.train(was_training)


def _weighted_draws(model, x: torch.Tensor, observed: torch.Tensor, noise: torch.Tensor, rounds: int):
    """For each round kept: p(x | z_j) for z_j = μ + σ ⊙ ε_j [k, B, Nz] from the round's proposal, and
    log w_j [k, B]."""
    completed = torch.where(observed, x, 0.0)
    if model.likelihood.takes_missing:
        q_z = model.encode(x)
        loc, scale = q_z.base_dist.loc, q_z.base_dist.scale
    else:
        for _ in range(rounds):
            completed = torch.where(observed, x, model.decode(model.encode(completed).mean).mean)
        q_z = model.encode(completed)
        loc, scale = q_z.base_dist.loc, 2 * q_z.base_dist.scale
    for adaptation, eps in enumerate(noise):
        z = loc + scale * eps                                                  # [k, B, Nz]
        p_x = model.decode(z)
        cells = p_x.cell_log_prob(completed) if model.likelihood.takes_missing else p_x.base_dist.log_prob(completed)
        log_q = Normal(loc, scale, validate_args=False).log_prob(z).sum(-1)
        log_w = torch.where(observed, cells, 0.0).sum(-1) + model.prior.log_prob(z) - log_q
        if adaptation >= len(noise) // 2:
            yield p_x, log_w
        weights = torch.softmax(log_w, 0)[..., None]                           # [k, B, 1]
        loc = (weights * z).sum(0)
        scale = 1.5 * (weights * (z - loc).square()).sum(0).sqrt().clamp(min=0.05)


def _weighted_point(p_x, weights: torch.Tensor) -> torch.Tensor:
    """Σ_j w_j E[x | z_j] [B, D] (a table's own rule for binary and categorical columns)."""
    if hasattr(p_x, "weighted_point"):
        return p_x.weighted_point(weights)
    return (weights[..., None] * p_x.mean).sum(0)
