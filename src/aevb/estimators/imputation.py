"""Missing values filled by self-normalised importance sampling (MIWAE, Mattei & Frellsen 2019; docs/maths.md §8).

For a row with observed cells x_o and missing cells x_m, draw z_j ~ r(z) (j = 1..k) and weigh them by

    w_j ∝ p(x_o | z_j) p(z_j) / r(z_j),    Σ_j w_j = 1

Then Σ_j w_j E[x_m | z_j] estimates E[x_m | x_o] (single imputation; for binary and categorical columns,
the most probable value of Σ_j w_j p(x_m | z_j)), and drawing j with probability w_j, then x_m ~ p(x_m | z_j),
draws from p(x_m | x_o) (sampling importance resampling: multiple imputation). The estimates are
consistent in k for any proposal r that covers the posterior.

The proposal is q(z | x_o). A table's encoder sees the mask of observed cells and takes x_o as it is;
an encoder trained on complete rows (images) sees x_o completed by the model's own reconstruction,
repeated `rounds` times from a zero fill (the pseudo-Gibbs iteration of Rezende et al. 2014), and the
weights correct for whatever that proposal gets wrong. Observed cells are returned unchanged.
"""

from __future__ import annotations

import torch

from ..errors import InputError
from ..randomness import seeded

WORK_ELEMENTS = 2**24      # k × rows × D values held at a time


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
    if k < 1:
        raise InputError(f"k={k!r} must be a positive integer (importance samples per row)")
    model.check_data(torch.nan_to_num(x) if not model.likelihood.takes_missing else x, "the rows to impute")
    was_training = model.training
    model.eval()
    try:
        with seeded(seed, x.device):
            latent_dim = model.config.latent_dim
            noise = torch.randn(k, 1, latent_dim, dtype=x.dtype, device=x.device)   # the same ε for every row
            rows = max(1, WORK_ELEMENTS // (k * x.shape[1]))
            parts = []
            for chunk in x.split(rows):
                observed = ~torch.isnan(chunk)
                p_x, log_w = _weighted_draws(model, chunk, observed, noise, rounds)
                filled = fill(p_x, torch.softmax(log_w, 0))
                parts.append(torch.where(observed, chunk, filled))
            return torch.cat(parts, len(leading))
    finally:
        model.train(was_training)


def _weighted_draws(model, x: torch.Tensor, observed: torch.Tensor, noise: torch.Tensor, rounds: int):
    """p(x | z_j) for z_j = μ + σ ⊙ ε_j ~ q(z | x_o) [k, B, Nz], and log w_j [k, B]."""
    q_z = model.encode(_proposal_input(model, x, observed, rounds))
    z = q_z.base_dist.loc + q_z.base_dist.scale * noise                      # [k, B, Nz]
    p_x = model.decode(z)
    completed = torch.where(observed, x, 0.0)
    cells = p_x.cell_log_prob(completed) if model.likelihood.takes_missing else p_x.base_dist.log_prob(completed)
    log_w = torch.where(observed, cells, 0.0).sum(-1) + model.prior.log_prob(z) - q_z.log_prob(z)
    return p_x, log_w


def _proposal_input(model, x: torch.Tensor, observed: torch.Tensor, rounds: int) -> torch.Tensor:
    if model.likelihood.takes_missing:
        return x
    completed = torch.where(observed, x, 0.0)
    for _ in range(rounds):
        completed = torch.where(observed, x, model.decode(model.encode(completed).mean).mean)
    return completed


def _weighted_point(p_x, weights: torch.Tensor) -> torch.Tensor:
    """Σ_j w_j E[x | z_j] [B, D] (a table's own rule for binary and categorical columns)."""
    if hasattr(p_x, "weighted_point"):
        return p_x.weighted_point(weights)
    return (weights[..., None] * p_x.mean).sum(0)
