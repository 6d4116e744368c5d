"""Likelihoods for pixels: the discretised logistic over 256 levels and the continuous Bernoulli, each a
normalised law whose draws have its mean, and each trains through the ordinary loop."""

import math

import pytest
import torch

import aevb
from aevb.errors import InputError
from aevb.model.discretized_logistic import LEVELS, DiscretizedLogistic

LEVEL_VALUES = torch.linspace(0, 1, LEVELS, dtype=torch.float64)


@pytest.mark.parametrize("loc, log_scale", [(0.5, -3.0), (0.0, -6.5), (1.0, -2.0), (0.37, 0.5), (-2.0, -1.0), (1.7, -4.0)])
def test_the_discretised_logistic_sums_to_one_over_the_256_levels_and_draws_have_its_mean(loc, log_scale):
    law = DiscretizedLogistic(torch.tensor(loc, dtype=torch.float64), torch.tensor(log_scale, dtype=torch.float64))
    masses = law.log_prob(LEVEL_VALUES).exp()                                           # [256]
    assert float(masses.sum()) == pytest.approx(1.0, abs=1e-9) and bool((masses >= 0).all())
    draws = law.sample((40000,))
    assert bool(((draws * 255) == (draws * 255).round()).all())                         # on the levels
    frequencies = torch.bincount((draws * 255).round().long(), minlength=LEVELS).double() / len(draws)
    assert float((frequencies - masses).abs().max()) < 4 * math.sqrt(0.25 / 40000)
    stderr = float(draws.std()) / math.sqrt(len(draws))
    assert float(draws.mean()) == pytest.approx(float(law.mean), abs=4 * stderr + 1e-12)


def test_an_inner_level_has_the_logistic_mass_of_its_bin():
    loc, scale = torch.tensor(0.4, dtype=torch.float64), math.exp(-3.0)
    law = DiscretizedLogistic(loc, torch.tensor(-3.0, dtype=torch.float64))
    x = LEVEL_VALUES[100]
    cdf = lambda v: torch.sigmoid((v - loc) / scale)                                    # noqa: E731
    assert float(law.log_prob(x).exp()) == pytest.approx(float(cdf(x + 0.5 / 255) - cdf(x - 0.5 / 255)), rel=1e-9)


def test_the_continuous_bernoulli_density_integrates_to_one():
    model = aevb.VAE(3, 2, hidden=(4,), likelihood="continuous-bernoulli").double()
    with torch.no_grad():
        p_x = model.decode(torch.randn(2, dtype=torch.float64) * 3).base_dist
    grid = torch.linspace(0, 1, 200001, dtype=torch.float64)[:, None]                   # [G, 1] against 3 dimensions
    densities = p_x.log_prob(grid).exp()                                                # [G, 3]
    integral = torch.trapezoid(densities, grid[:, 0], dim=0)
    assert torch.allclose(integral, torch.ones(3, dtype=torch.float64), atol=1e-6)


@pytest.mark.parametrize("likelihood, x, message", [
    ("discretized-logistic", torch.full((2, 3), 0.5), "not 8-bit levels k/255"),
    ("discretized-logistic", torch.full((2, 3), 2.0), "not 8-bit levels k/255"),
    ("continuous-bernoulli", torch.full((2, 3), -0.1), "outside \\[0, 1\\], where the continuous Bernoulli lives"),
])
def test_data_a_pixel_likelihood_cannot_score_is_refused_in_one_sentence(likelihood, x, message):
    with pytest.raises(InputError, match=message):
        aevb.VAE(3, 2, hidden=(4,), likelihood=likelihood).check_data(x, "x")


@pytest.mark.parametrize("likelihood", ["discretized-logistic", "continuous-bernoulli"])
def test_a_pixel_likelihood_trains_and_its_bound_rises(likelihood, tmp_path):
    data = aevb.datasets.load("digits")                                                 # values k/16
    levels = lambda x: (x * 255).round() / 255                                         # noqa: E731 (8-bit levels)
    data = type(data)(**{**data.__dict__, **{split: levels(getattr(data, split)) for split in ("train", "valid", "test")}})
    torch.manual_seed(0)
    model = aevb.VAE(64, latent_dim=4, hidden=(64,), likelihood=likelihood)
    history = []
    aevb.train(model, data, aevb.TrainConfig(epochs=5, binarize="none"), None, progress=False, log=lambda *a: None,
               on_evaluation=history.append)
    assert history[-1]["test_elbo"] > history[0]["test_elbo"] and math.isfinite(history[-1]["test_elbo"])
