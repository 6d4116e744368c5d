"""The estimators against exact answers (docs/maths.md §2, §4, §6). Tolerances are 4 standard errors of the
Monte Carlo mean unless said otherwise: a correct estimator fails such a check with probability
< 1e-4 per comparison, and the seeds are fixed."""

import math

import pytest
import torch
from linear_gaussian import (
    exact_elbo,
    exact_log_likelihood,
    linear_gaussian_vae,
    perturb_encoder,
    set_encoder_to_exact_posterior,
)
from torch.distributions import Independent, Normal

import aevb
from aevb.estimators.linear_gaussian import exact_gap
from aevb.objectives import analytic_kl, monte_carlo_kl


def mean_and_stderr(values, dim=0):
    return values.mean(dim), values.std(dim) / math.sqrt(values.shape[dim])


def test_analytic_kl_is_the_closed_form_and_matches_monte_carlo():
    loc = torch.tensor([[0.0, 1.0, -2.0], [0.5, -0.3, 0.2]], dtype=torch.float64)
    scale = torch.tensor([[1.0, 0.5, 2.0], [0.1, 1.3, 0.9]], dtype=torch.float64)
    q = Independent(Normal(loc, scale), 1)
    prior = Independent(Normal(torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)), 1)
    closed_form = 0.5 * (loc ** 2 + scale ** 2 - 1 - torch.log(scale ** 2)).sum(-1)        # docs/maths.md §4
    z = q.sample((200_000,))                                                              # [n, B, Nz]
    assert torch.allclose(analytic_kl(q, prior, z), closed_form, atol=1e-12)
    per_sample = q.log_prob(z) - prior.log_prob(z)                                        # [n, B]
    mean, stderr = mean_and_stderr(per_sample)
    assert torch.all((mean - closed_form).abs() < 4 * stderr)
    assert torch.allclose(monte_carlo_kl(q, prior, z), mean)


def test_estimators_A_and_B_agree_in_expectation():
    model = aevb.VAE(10, 3, hidden=(16,)).double()
    x = torch.rand(3, 10, dtype=torch.float64).round()
    n = 40_000
    repeated = x.repeat(n, 1)                                                             # [n·B, D]
    a = aevb.elbo(model, repeated, kl="mc").detach().view(n, 3)
    b = aevb.elbo(model, repeated, kl="analytic").detach().view(n, 3)
    mean_a, se_a = mean_and_stderr(a)
    mean_b, se_b = mean_and_stderr(b)
    assert torch.all((mean_a - mean_b).abs() < 4 * torch.sqrt(se_a ** 2 + se_b ** 2))
    assert torch.all(se_b < se_a)   # the analytic KL removes the KL term's variance (the paper's point)


def test_L_samples_average_L_single_sample_estimates():
    model = aevb.VAE(10, 3, hidden=(16,)).double()
    x = torch.rand(2, 10, dtype=torch.float64)
    torch.manual_seed(5)
    averaged = aevb.elbo(model, x, samples=7, kl="mc")
    torch.manual_seed(5)
    q = model.encode(x)
    z = q.rsample((7,))
    by_hand = (model.decode(z).log_prob(x) + model.prior.log_prob(z) - q.log_prob(z)).mean(0)   # estimator A
    assert torch.allclose(averaged, by_hand, atol=1e-12)


def test_elbo_equals_log_likelihood_when_q_is_the_exact_posterior():
    model = linear_gaussian_vae()
    x = torch.randn(5, 6, dtype=torch.float64) * 2
    log_px = exact_log_likelihood(model, x)
    # Estimator A: log p(x, z) − log q(z|x) = log p(x) for every z when q is the posterior (zero variance).
    for _ in range(3):
        assert torch.allclose(aevb.elbo(model, x, kl="mc"), log_px, atol=1e-9)
    assert torch.allclose(exact_elbo(model, x), log_px, atol=1e-9)
    # Estimator B has variance, but its mean is log p(x).
    n = 20_000
    b = aevb.elbo(model, x.repeat(n, 1), kl="analytic").detach().view(n, 5)
    mean, stderr = mean_and_stderr(b)
    assert torch.all((mean - log_px).abs() < 4 * stderr)


def test_the_gap_is_the_kl_from_q_to_the_exact_posterior():
    model = linear_gaussian_vae()
    perturb_encoder(model)
    x = torch.randn(5, 6, dtype=torch.float64) * 2
    gap = exact_gap(model, x)
    assert torch.all(gap > 1e-3)
    assert torch.allclose(exact_elbo(model, x) + gap, exact_log_likelihood(model, x), atol=1e-10)
    set_encoder_to_exact_posterior(model)
    assert torch.allclose(exact_gap(model, x), torch.zeros(5, dtype=torch.float64), atol=1e-10)


@pytest.mark.parametrize("kl", ["mc", "analytic"])
def test_elbo_is_below_log_likelihood_and_unbiased_for_any_q(kl):
    model = linear_gaussian_vae()
    perturb_encoder(model)
    x = torch.randn(5, 6, dtype=torch.float64) * 2
    log_px, bound = exact_log_likelihood(model, x), exact_elbo(model, x)
    assert torch.all(bound < log_px - 1e-3)        # the gap is KL(q ‖ p(z|x)) > 0 for q ≠ posterior
    n = 20_000
    estimates = aevb.elbo(model, x.repeat(n, 1), kl=kl).detach().view(n, 5)
    mean, stderr = mean_and_stderr(estimates)
    assert torch.all((mean - bound).abs() < 4 * stderr)


def test_beta_weighs_the_analytic_kl():
    model = aevb.VAE(10, 3, hidden=(16,)).double()
    x = torch.rand(4, 10, dtype=torch.float64)
    kl = torch.distributions.kl_divergence(model.encode(x), model.prior)
    torch.manual_seed(1)
    plain = aevb.elbo(model, x)
    torch.manual_seed(1)
    weighted = aevb.elbo(model, x, beta=3.0)
    assert torch.allclose(plain - weighted, 2.0 * kl, atol=1e-10)


@pytest.mark.parametrize("kl", ["mc", "analytic"])
def test_reparameterised_gradients_match_finite_differences_of_the_expectation(kl):
    """∇_φ E_q[f] from the pathwise estimator, averaged over many ε, against central finite
    differences of the closed-form expectation (exact_elbo): checks z = μ + σ ⊙ ε with σ = exp(½ log σ²)."""
    model = linear_gaussian_vae()
    perturb_encoder(model)
    x = torch.randn(1, 6, dtype=torch.float64)
    params = list(model.encoder_head.parameters())

    groups, per_group = 20, 2_000
    grads = []
    for _ in range(groups):
        model.zero_grad()
        aevb.elbo(model, x.repeat(per_group, 1), kl=kl).mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in params]))
    grads = torch.stack(grads)                                                            # [groups, P]
    mean, stderr = mean_and_stderr(grads)

    h = 1e-6
    finite_differences = []
    for p in params:
        flat = p.data.view(-1)
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + h
            up = exact_elbo(model, x).item()
            flat[i] = old - h
            down = exact_elbo(model, x).item()
            flat[i] = old
            finite_differences.append((up - down) / (2 * h))
    finite_differences = torch.tensor(finite_differences, dtype=torch.float64)
    assert finite_differences.abs().max() > 0.1     # the test is not comparing zeros
    assert torch.all((mean - finite_differences).abs() < 4 * stderr + 1e-6)


def test_log_weight_prior_is_a_standard_normal_on_every_weight():
    model = aevb.VAE(5, 2, hidden=(3,))
    expected = sum(-0.5 * (p.detach() ** 2).sum() for p in model.parameters())
    assert torch.allclose(aevb.log_weight_prior(model), expected)
    n_weights = sum(p.numel() for p in model.parameters())
    normal = Normal(0.0, 1.0)
    full = sum(normal.log_prob(p.detach()).sum() for p in model.parameters())
    assert torch.allclose(aevb.log_weight_prior(model) - 0.5 * n_weights * math.log(2 * math.pi), full, atol=1e-4)


def test_bad_arguments_are_named():
    model = aevb.VAE(4, 2, hidden=())
    x = torch.rand(2, 4)
    with pytest.raises(ValueError, match="kl='exact'"):
        aevb.elbo(model, x, kl="exact")
    with pytest.raises(ValueError, match="samples=0"):
        aevb.elbo(model, x, samples=0)
    with pytest.raises(ValueError, match="data_dim=4"):
        aevb.elbo(model, torch.rand(2, 5))
    outside = torch.full((2, 4), 5.0)              # a Bernoulli likelihood has no probability for x = 5
    with pytest.raises(aevb.InputError, match=r"values in \[5, 5\], outside \[0, 1\]"):
        aevb.elbo(model, outside)
    with pytest.raises(aevb.InputError, match="outside"):
        aevb.iwae_bound(model, outside, k=3)
