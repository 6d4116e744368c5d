"""Exact answers of the linear-Gaussian VAE (docs/maths.md §6): `hidden=()`, `likelihood="gaussian"`,
`gaussian_mean="linear"`, `gaussian_variance="learned"`, so p(x|z) = N(Wz + b, diag ψ) and p(z) = N(0, I).

Then p(x) = N(b, WWᵀ + diag ψ), the posterior is N(Σ Wᵀψ⁻¹(x − b), Σ) with Σ = (I + Wᵀψ⁻¹W)⁻¹, and for the
encoder's (linear) q(z|x) = N(m, diag s²) the bound has a closed form, so log p(x) = ELBO + KL(q ‖ p(z|x))
can be checked to rounding error. The yardstick of the estimators' tests and of the guide's first page.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import MultivariateNormal

from ..errors import InputError


def decoder_parameters(model) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(W [D, Nz], b [D], ψ [D]) of a linear-Gaussian model."""
    config = model.config
    if config.hidden or config.likelihood != "gaussian" or config.gaussian_mean != "linear" \
            or config.gaussian_variance != "learned":
        raise InputError("exact answers need the linear-Gaussian model: hidden=(), likelihood='gaussian', "
                         "gaussian_mean='linear', gaussian_variance='learned'")
    w = model.likelihood.loc.weight.detach()
    b = model.likelihood.loc.bias.detach()
    psi = model.likelihood.log_var.log_var.detach().exp()
    return w, b, psi


def exact_log_likelihood(model, x: torch.Tensor) -> torch.Tensor:
    """log p(x) = log N(x; b, WWᵀ + diag ψ): [B]."""
    w, b, psi = decoder_parameters(model)
    return MultivariateNormal(b, w @ w.T + torch.diag(psi)).log_prob(x)


def exact_posterior(model, x: torch.Tensor) -> MultivariateNormal:
    """p(z|x) = N(Σ Wᵀψ⁻¹(x − b), Σ), Σ = (I + Wᵀψ⁻¹W)⁻¹: batch [B] of Nz-dimensional Gaussians."""
    w, b, psi = decoder_parameters(model)
    covariance = torch.linalg.inv(torch.eye(w.shape[1], dtype=w.dtype) + w.T @ (w / psi[:, None]))   # [Nz, Nz]
    mean = (x - b) @ (w / psi[:, None]) @ covariance                                               # [B, Nz]
    return MultivariateNormal(mean, covariance)


def exact_elbo(model, x: torch.Tensor) -> torch.Tensor:
    """L(x) = E_q[log p(x|z)] − KL(q ‖ p) in closed form for the model's current encoder: [B].

    E_q[log N(x; Wz + b, ψ)] = Σ_d −½ log 2πψ_d − ((x_d − (Wm + b)_d)² + Σ_j W_dj² s_j²) / 2ψ_d.
    """
    w, b, psi = decoder_parameters(model)
    m, log_s2 = model.encoder_head(x).chunk(2, dim=-1)   # read off the linear encoder: [B, Nz] each
    s2 = log_s2.exp()
    residual = x - (m @ w.T + b)                                                        # [B, D]
    expected_log_lik = (-0.5 * torch.log(2 * math.pi * psi)
                        - (residual ** 2 + s2 @ (w ** 2).T) / (2 * psi)).sum(-1)
    kl = 0.5 * (m ** 2 + s2 - 1 - log_s2).sum(-1)
    return expected_log_lik - kl


def exact_gap(model, x: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) ‖ p(z|x)) between the encoder's diagonal Gaussian and the exact posterior, in closed form: [B]."""
    m, log_s2 = model.encoder_head(x).chunk(2, dim=-1)
    posterior = exact_posterior(model, x)
    q = MultivariateNormal(m, torch.diag_embed(log_s2.exp()))
    return torch.distributions.kl_divergence(q, posterior)
