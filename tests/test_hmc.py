"""HMC and the paper's Appendix D estimator against the exact posterior and log p(x) of the
linear-Gaussian model (docs/maths.md §6)."""

import math

import pytest
import torch
from linear_gaussian import exact_log_likelihood, linear_gaussian_vae

import aevb
from aevb.estimators.hmc import hmc
from aevb.estimators.hmc_marginal_likelihood import marginal_likelihood_hmc


def test_hmc_leaves_the_exact_posterior_invariant():
    model = linear_gaussian_vae(data_dim=6, latent_dim=2, seed=5)      # q is set to the exact posterior
    x = torch.randn(1, 6, dtype=torch.float64).expand(4000, 6)           # 4000 chains on one datapoint
    posterior = model.encode(x[:1])
    start = posterior.sample((4000,)).squeeze(1)                          # exact draws [C, Nz]
    result = hmc(model, x, start, n_samples=3, burn_in=0, step_size=0.4)
    final = result.samples[-1]                                            # still exact draws if invariant
    mean, std = posterior.mean[0], posterior.stddev[0]
    assert torch.all((final.mean(0) - mean).abs() < 4 * std / math.sqrt(4000))
    # The variance of a sample variance of n normal draws is 2σ⁴/(n − 1).
    assert torch.all((final.var(0) - std ** 2).abs() < 4 * std ** 2 * math.sqrt(2 / 3999))
    assert 0.5 < result.acceptance.mean() < 1.0


def test_step_size_adapts_towards_the_target_acceptance():
    model = linear_gaussian_vae(data_dim=6, latent_dim=2, seed=5)
    x = torch.randn(200, 6, dtype=torch.float64)
    result = hmc(model, x, model.encode(x).mean, n_samples=200, burn_in=300, step_size=2.0)
    assert abs(result.acceptance.mean().item() - 0.9) < 0.05
    assert torch.all(result.step_size < 2.0)


def test_appendix_d_estimator_recovers_the_exact_log_likelihood_in_two_dimensions():
    model = linear_gaussian_vae(data_dim=6, latent_dim=2, seed=7)
    with torch.no_grad():          # the encoder only supplies the starting points: make it a poor one
        model.encoder_head.bias[:2] += 1.0
    x = torch.randn(8, 6, dtype=torch.float64)
    estimate = marginal_likelihood_hmc(model, x, n_samples=500, burn_in=200)
    exact = exact_log_likelihood(model, x)
    assert torch.all((estimate - exact).abs() < 0.05), (estimate - exact)


def test_warns_above_five_latent_dimensions():
    model = aevb.VAE(4, 6, hidden=())
    with pytest.warns(UserWarning, match="unreliable for latent_dim=6"):
        marginal_likelihood_hmc(model, torch.rand(2, 4).round(), n_samples=3, burn_in=2)
