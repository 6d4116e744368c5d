"""Monte Carlo EM (the paper's Appendix E) on the linear-Gaussian model of docs/maths.md §6, whose posterior and
log p(x) are exact."""

import math

import torch
from linear_gaussian import exact_log_likelihood, linear_gaussian_vae

import aevb
from aevb.baselines import MonteCarloEM, mcem


def test_the_e_step_leaves_the_exact_posterior_invariant():
    model = linear_gaussian_vae(data_dim=6, latent_dim=2, seed=5)      # q is set to the exact posterior
    x = torch.randn(1, 6, dtype=torch.float64).expand(4000, 6)           # 4000 chains on one datapoint
    posterior = model.encode(x[:1])
    algorithm = MonteCarloEM(model, n_train=4000, weight_prior=False, initial_step=0.4)
    algorithm.chains = posterior.sample((4000,)).squeeze(1)              # exact draws [C, Nz]
    everyone = torch.arange(4000)
    acceptance = [algorithm.e_step(x, everyone, adapt=False) for _ in range(3)]
    final = algorithm.chains                                             # still exact draws if invariant
    mean, std = posterior.mean[0], posterior.stddev[0]
    assert torch.all((final.mean(0) - mean).abs() < 4 * std / math.sqrt(4000))
    # The variance of a sample variance of n normal draws is 2σ⁴/(n − 1).
    assert torch.all((final.var(0) - std ** 2).abs() < 4 * std ** 2 * math.sqrt(2 / 3999))
    assert 0.5 < min(acceptance) < 1.0


def data_from_a_linear_gaussian_model(n=500):
    truth = linear_gaussian_vae(data_dim=6, latent_dim=2, seed=3)
    with torch.no_grad():
        return truth.decode(torch.randn(n, 2, dtype=torch.float64)).sample(), truth


def fresh_model():
    torch.manual_seed(11)
    return aevb.VAE(6, 2, hidden=(), likelihood="gaussian", gaussian_mean="linear",
                    gaussian_variance="learned").double()


def test_mcem_raises_the_exact_log_likelihood(tmp_path):
    x, truth = data_from_a_linear_gaussian_model()
    model = fresh_model()
    before = exact_log_likelihood(model, x).mean().item()
    mcem.fit(tmp_path / "run", model, x, budget=20_000, binarize="none", weight_prior=False)
    after = exact_log_likelihood(model, x).mean().item()
    # Measured: −10.59 before, −8.01 after; the model that made the data scores −7.82 on it.
    assert after > before + 2
    assert after > exact_log_likelihood(truth, x).mean().item() - 0.5
    loaded = aevb.load(tmp_path / "run")
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_fit_continues_a_run_exactly(tmp_path):
    x, _ = data_from_a_linear_gaussian_model(n=300)
    whole = fresh_model()
    mcem.fit(tmp_path / "whole", whole, x, budget=2000, binarize="none")
    mcem.fit(tmp_path / "part", fresh_model(), x, budget=700, binarize="none")       # stops inside epoch 3
    continued = fresh_model()
    mcem.fit(tmp_path / "part", continued, x, budget=2000, binarize="none")
    assert all(torch.equal(a, b) for a, b in zip(continued.state_dict().values(), whole.state_dict().values()))


def test_fit_leaves_the_callers_random_stream_alone(tmp_path):
    x, _ = data_from_a_linear_gaussian_model(n=300)
    model = fresh_model()
    torch.manual_seed(7)
    expected = torch.rand(5)
    torch.manual_seed(7)
    mcem.fit(tmp_path / "run", model, x, budget=300, binarize="none")
    assert torch.equal(torch.rand(5), expected)
