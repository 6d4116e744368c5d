"""What a trained VAE's numbers mean (docs/maths.md §6): KL per latent dimension, active units, the gap between
the bound and the log-likelihood, bits per dimension, and one table that reports them all."""

from __future__ import annotations

import math

import torch
from torch.distributions import kl_divergence

from ..randomness import seeded
from .bound import Estimate, seeded_elbo_per_datapoint
from .hmc_marginal_likelihood import marginal_likelihood_hmc
from .importance import importance_sampling

ACTIVE_UNIT_THRESHOLD = 0.01   # Burda et al.: unit u is active if Cov_x(E_q[z_u]) > 0.01


@torch.no_grad()
def kl_per_dimension(model, x: torch.Tensor, chunk_size: int = 1000) -> torch.Tensor:
    """Mean over x of KL(q(z_u|x) ‖ N(0, 1)) for every latent dimension u: [Nz] nats; they sum to the KL term."""
    total = 0
    for chunk in x.split(chunk_size):
        q = model.encode(chunk).base_dist                                   # Normal, batch [B, Nz]
        total = total + kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(0)
    return total / len(x)


@torch.no_grad()
def latent_means(model, x: torch.Tensor, chunk_size: int = 1000) -> torch.Tensor:
    """E_q[z|x] for every row of x: [N, Nz]."""
    return torch.cat([model.encode(chunk).mean for chunk in x.split(chunk_size)])


def posterior_mean_variance(model, x: torch.Tensor) -> torch.Tensor:
    """Cov_x(E_q[z_u]) for every latent dimension u: the variance over the data of μ_u(x), [Nz]."""
    return latent_means(model, x).double().var(0).float()


def active_units(model, x: torch.Tensor, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """How many latent dimensions the encoder uses (Burda et al. 2016)."""
    return int((posterior_mean_variance(model, x) > threshold).sum())


def report(model, x: torch.Tensor, k: int = 0, hmc_samples: int = 0, seed: int = 0, progress: bool = False) -> dict:
    """Every figure for x [N, D]: the ELBO (estimator B, L = 1) with its standard error, KL per
    dimension and active units; with k > 0 also the importance-sampled log p(x), its effective sample
    size, the gap log p(x) − ELBO, the NLL and bits per dimension (where log p(x) is a probability of x's
    discrete values; else "no_bits_per_dim" says why not); with hmc_samples > 0 the paper's
    Appendix D estimate of log p(x)."""
    bound_per_point = seeded_elbo_per_datapoint(model, x, seed=seed).double()            # [N]
    bound = Estimate.of(bound_per_point)
    kl = kl_per_dimension(model, x)
    variances = posterior_mean_variance(model, x)
    figures = {"n": bound.n, "data_dim": x.shape[1], "elbo": bound.mean, "elbo_stderr": bound.stderr,
               "kl": float(kl.sum()), "kl_per_dimension": [round(float(v), 4) for v in kl],
               "active_units": int((variances > ACTIVE_UNIT_THRESHOLD).sum()), "latent_dim": len(kl)}
    if k > 0:
        with seeded(seed, x.device):
            sampling = importance_sampling(model, x, k, progress=progress)
        summary = sampling.summary()
        gap = sampling.log_likelihood.double() - bound_per_point
        figures.update(summary)
        figures.update({"gap": float(gap.mean()), "gap_stderr": float(gap.std() / math.sqrt(len(gap))),
                        "nll": -summary["log_likelihood"]})
        why_not = model.likelihood.not_a_probability(x)
        if why_not is None:            # bits per dimension: only where log p(x) is of a probability of x's levels
            figures["bits_per_dim"] = -summary["log_likelihood"] / (x.shape[1] * math.log(2))
        else:
            figures["no_bits_per_dim"] = why_not
    if hmc_samples > 0:
        with seeded(seed, x.device):
            estimate = Estimate.of(marginal_likelihood_hmc(model, x, n_samples=hmc_samples))
        figures.update({"log_likelihood_hmc": estimate.mean, "log_likelihood_hmc_stderr": estimate.stderr,
                        "hmc_samples": hmc_samples})
    return figures
