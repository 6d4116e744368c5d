"""Answers for every row of a data set that depend on that row alone: the code, the ELBO, log p(x) and
its rank as an anomaly score. Every row sees the same draws of ε, from a fixed seed, so a row's numbers
do not change with the rows scored beside it or their order."""

from __future__ import annotations

import torch

from ..objectives import elbo
from .importance import importance_sampling


@torch.no_grad()
def codes(model, x: torch.Tensor, chunk_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and standard deviation of q(z|x) for every row of x [N, D]: ([N, Nz], [N, Nz])."""
    parts = [model.encode(chunk).base_dist for chunk in x.split(chunk_size)]
    return torch.cat([q.loc for q in parts]), torch.cat([q.scale for q in parts])


@torch.no_grad()
def elbo_per_row(model, x: torch.Tensor, seed: int, samples: int = 64, chunk_size: int = 100) -> torch.Tensor:
    """The ELBO (estimator B with L = `samples`, for a per-row figure with little noise) of every row of
    x [N, D], the same ε [L, Nz] for every row: [N]."""
    latent_dim = model.config.latent_dim
    generator = torch.Generator(x.device).manual_seed(seed)
    eps = torch.randn(samples, 1, latent_dim, generator=generator, device=x.device)      # [L, 1, Nz]
    was_training = model.training
    model.eval()
    try:
        return torch.cat([elbo(model, chunk, samples, noise=eps.to(chunk.dtype).expand(samples, len(chunk), latent_dim))
                          for chunk in x.split(chunk_size)])
    finally:
        model.train(was_training)


def row_scores(model, x: torch.Tensor, k: int, seed: int, progress: bool = False) -> dict[str, torch.Tensor]:
    """Per row of x [N, D]: "elbo", "log_likelihood" (importance sampled, k draws, of the observed cells),
    "anomaly_rank" (1 for the row of lowest log p(x), the most anomalous; NaN for a row with no observed cell,
    whose log p(x) of nothing is 0 and says nothing about it) and "observed_cells", each [N]."""
    log_likelihood = importance_sampling(model, x, k, seed=seed, progress=progress).log_likelihood
    observed = (~torch.isnan(x)).sum(1)                                              # [N]
    scored = (observed > 0).nonzero().squeeze(1)
    rank = torch.full((len(x),), float("nan"), dtype=torch.float64, device=x.device)
    rank[scored[log_likelihood[scored].argsort(stable=True)]] = torch.arange(1, len(scored) + 1, device=x.device).double()
    return {"elbo": elbo_per_row(model, x, seed), "log_likelihood": log_likelihood, "anomaly_rank": rank,
            "observed_cells": observed}
