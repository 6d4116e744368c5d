"""Importance sampling and the IWAE bound against the exact log p(x) of the linear-Gaussian model
(docs/maths.md §6), the fast decoder against the plain one, and the diagnostics."""

import math

import pytest
import torch
from linear_gaussian import exact_log_likelihood, linear_gaussian_vae

import aevb
from aevb.estimators.diagnostics import active_units, kl_per_dimension, report
from aevb.estimators.importance import importance_sampling
from aevb.kernels.fast_decoders import BernoulliMLPLogProb, log_prob_function
from aevb.objectives import iwae_bound


@pytest.fixture
def poor_proposal():
    """A linear-Gaussian VAE whose q is the posterior shifted by 0.5 and twice as wide: a proposal
    with finite-variance weights, far enough from the posterior that k matters."""
    model = linear_gaussian_vae(data_dim=6, latent_dim=2, seed=3)
    with torch.no_grad():
        model.encoder_head.bias[:2] += 0.5
        model.encoder_head.bias[2:] += math.log(2.0)
    return model.float()


def test_estimate_converges_to_the_exact_log_likelihood(poor_proposal):
    x = torch.randn(200, 6)
    exact = exact_log_likelihood(poor_proposal.double(), x.double()).float()
    poor_proposal.float()
    errors = {}
    for k in (1, 10, 1000):
        error = importance_sampling(poor_proposal, x, k=k, sample_chunk=300).log_likelihood - exact     # [N]
        errors[k] = (error.mean().item(), error.std().item() / math.sqrt(len(error)))
    # E[log p̂_k] − log p(x) = L_k − log p(x) < 0 shrinks as k grows (measured −1.30, −0.06, +0.002).
    assert errors[1][0] < -0.5                   # the proposal is poor enough for k to matter
    assert errors[1][0] < errors[10][0] < errors[1000][0] + 4 * errors[1000][1]
    assert abs(errors[1000][0]) < 4 * errors[1000][1] + 1e-3


def test_elbo_below_iwae_bounds_below_log_likelihood(poor_proposal):
    x = torch.randn(50, 6)
    exact = exact_log_likelihood(poor_proposal.double(), x.double()).float()
    poor_proposal.float()
    repeats = 400
    means = {}
    for k in (1, 5, 50):
        with torch.no_grad():
            values = torch.stack([iwae_bound(poor_proposal, x, k) for _ in range(repeats)])   # [R, B]
        means[k] = values.mean(0)
    with torch.no_grad():
        elbo = torch.stack([aevb.elbo(poor_proposal, x, kl="mc") for _ in range(repeats)]).mean(0)
    difference = means[1] - elbo                          # L_1 is the ELBO (estimator A): equal in expectation
    assert abs(difference.mean()) < 4 * difference.std() / math.sqrt(len(difference))
    assert means[1].mean() < means[5].mean() < means[50].mean() < exact.mean()
    assert (means[5] > means[1]).float().mean() > 0.9     # and per datapoint, almost always


def test_iwae_bound_trains_through_the_cli_objective(tmp_path):
    data = aevb.datasets.load("digits")
    config = aevb.TrainConfig(data="digits", objective="iwae", k=5, epochs=3)
    torch.manual_seed(0)
    model = aevb.VAE(64, latent_dim=4, hidden=(32,))
    aevb.train(model, data, config, tmp_path / "run", progress=False, log=lambda *a: None)
    rows = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 3
    with pytest.raises(ValueError, match="objective='vae'"):
        aevb.TrainConfig(objective="vae")


@pytest.mark.parametrize("onednn", [True, False])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("scale", [1.0, 30.0])   # 30: logits far beyond the product's safe range
def test_fast_bernoulli_decoder_matches_the_plain_one(onednn, activation, scale, monkeypatch):
    monkeypatch.setattr(aevb.kernels.dense, "ONEDNN_FP32", onednn)              # each of the two kernels
    model = aevb.VAE(784, 20, hidden=(50, 40), activation=activation)
    with torch.no_grad():
        model.likelihood.logits.weight.mul_(scale)
    z = torch.randn(300, 20) * 2
    x = (torch.rand(784) < 0.2).float()
    exact = model.double().decode(z.double()).log_prob(x.double())
    fast = log_prob_function(model.float())
    assert isinstance(fast, BernoulliMLPLogProb)
    assert torch.allclose(fast(z, x).double(), exact, rtol=1e-5, atol=1e-3)
    grey = torch.rand(784)                                  # grey x falls back to the plain formula
    assert torch.allclose(fast(z, grey), model.decode(z).log_prob(grey), atol=1e-3)


def test_other_decoders_use_their_distribution():
    model = aevb.VAE(5, 2, hidden=(4,), activation="elu")
    z, x = torch.randn(7, 2), torch.rand(5).round()
    assert torch.equal(log_prob_function(model)(z, x), model.decode(z).log_prob(x))


def test_effective_sample_size_is_k_for_an_exact_posterior():
    model = linear_gaussian_vae().float()
    x = torch.randn(5, 6)
    result = importance_sampling(model, x, k=100)
    assert torch.allclose(result.effective_sample_size, torch.full((5,), 100.0), rtol=1e-3)
    assert torch.allclose(result.log_likelihood, exact_log_likelihood(model, x), atol=1e-4)


def test_active_units_counts_a_dimension_made_inactive():
    model = aevb.VAE(10, 4, hidden=(16,))
    x = torch.rand(500, 10).round()
    assert active_units(model, x, threshold=1e-4) == 4
    with torch.no_grad():
        model.encoder_head.weight[2].zero_()                # μ_2 no longer depends on x
        model.encoder_head.bias[2] = 0.3
    assert active_units(model, x, threshold=1e-4) == 3


def test_kl_per_dimension_sums_to_the_kl_term():
    model = aevb.VAE(10, 4, hidden=(16,))
    x = torch.rand(100, 10)
    per_dimension = kl_per_dimension(model, x)
    total = torch.distributions.kl_divergence(model.encode(x), model.prior).mean()
    assert per_dimension.shape == (4,) and torch.allclose(per_dimension.sum(), total, atol=1e-5)


def test_report_on_the_linear_gaussian_model():
    model = linear_gaussian_vae().float()
    x = torch.randn(100, 6)
    figures = report(model, x, k=20)
    exact = exact_log_likelihood(model, x).double().mean().item()
    assert figures["log_likelihood"] == pytest.approx(exact, abs=1e-3)
    assert abs(figures["gap"]) < 4 * figures["gap_stderr"] + 1e-6       # q is the posterior: no gap
    assert "bits_per_dim" not in figures and "density of continuous values" in figures["no_bits_per_dim"]


@pytest.mark.parametrize("likelihood, data, bits", [
    ("bernoulli", "binary", True), ("bernoulli", "grey", False), ("discretized-logistic", "grey", True),
    ("continuous-bernoulli", "grey", False), ("gaussian", "grey", False)])
def test_bits_per_dimension_only_where_log_p_is_a_probability_of_the_datas_levels(likelihood, data, bits):
    torch.manual_seed(0)
    model = aevb.VAE(6, latent_dim=2, hidden=(8,), likelihood=likelihood)
    x = torch.randint(0, 256, (20, 6)) / 255.0                            # 8-bit levels
    x = (x > 0.5).float() if data == "binary" else x
    figures = report(model, x, k=10)
    assert ("bits_per_dim" in figures) == bits and ("no_bits_per_dim" in figures) != bits
    if bits:
        assert figures["bits_per_dim"] == pytest.approx(-figures["log_likelihood"] / (6 * math.log(2)))


def test_importance_sampling_restores_the_models_mode_when_it_fails():
    model = aevb.VAE(6, latent_dim=2, hidden=(4,))
    model.train()
    with pytest.raises(ValueError, match="expects data_dim=6"):
        importance_sampling(model, torch.zeros(3, 5), k=10)          # the wrong width fails inside
    assert model.training
    model.eval()
    importance_sampling(model, torch.zeros(3, 6), k=10)
    assert not model.training
