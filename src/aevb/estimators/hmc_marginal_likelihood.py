"""The paper's marginal-likelihood estimator (its Appendix D), for small latent dimensions.

1. draw samples from the posterior p(z|x) with HMC;
2. fit a density q(z) to them (here a full-covariance Gaussian per datapoint);
3. draw new posterior samples z_l and use 1/p(x) = E_{p(z|x)}[q(z) / (p(z) p(x|z))]:

    log p(x) ≈ −log (1/L) Σ_l q(z_l) / (p(z_l) p(x|z_l))

a harmonic-mean-type (reciprocal importance sampling) estimator. It needs q to have lighter tails than
the posterior; in more than a few latent dimensions both the fit and the estimate become unreliable,
which the paper notes and `marginal_likelihood_hmc` warns about above Nz = 5.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch.distributions import MultivariateNormal

from ..objectives import log_joint
from .hmc import hmc

RELIABLE_LATENT_DIM = 5


@torch.no_grad()
def marginal_likelihood_hmc(model, x: torch.Tensor, n_samples: int = 500, burn_in: int = 200,
                            leapfrog_steps: int = 10, target_acceptance: float = 0.9) -> torch.Tensor:
    """Estimate log p(x) for every row of x [B, D] by Appendix D: [B] nats."""
    latent_dim = model.config.latent_dim
    if latent_dim > RELIABLE_LATENT_DIM:
        warnings.warn(f"the HMC marginal-likelihood estimator is unreliable for latent_dim={latent_dim} > "
                      f"{RELIABLE_LATENT_DIM} (the paper's Appendix D); prefer importance sampling (--k)",
                      stacklevel=2)
    start = model.encode(x).mean                                                       # [B, Nz]
    fit = hmc(model, x, start, n_samples, burn_in, leapfrog_steps, target_acceptance=target_acceptance)
    mean = fit.samples.mean(0)                                                         # [B, Nz]
    centred = fit.samples - mean                                                       # [n, B, Nz]
    covariance = torch.einsum("nbi,nbj->bij", centred, centred) / (n_samples - 1)
    covariance = covariance + 1e-6 * torch.eye(latent_dim, dtype=x.dtype, device=x.device)
    q = MultivariateNormal(mean, covariance_matrix=covariance)                         # batch [B]
    z = hmc(model, x, fit.samples[-1], n_samples, burn_in=0, leapfrog_steps=leapfrog_steps,
            step_size=fit.step_size).samples                                           # fresh draws [n, B, Nz]
    log_ratio = q.log_prob(z) - torch.stack([log_joint(model, x, sample) for sample in z])   # [n, B]
    return -(torch.logsumexp(log_ratio.double(), 0) - math.log(n_samples)).to(x.dtype)
