"""The mixture baseline: exact log-likelihood, monotone EM, recovery of a known mixture."""

import itertools
import math

import pytest
import torch

from aevb.baselines import BernoulliMixture


def known_mixture_data(n=4000, seed=0):
    g = torch.Generator().manual_seed(seed)
    means = torch.tensor([[0.9, 0.9, 0.1, 0.1, 0.8, 0.2], [0.1, 0.2, 0.9, 0.8, 0.3, 0.7]], dtype=torch.float64)
    weights = torch.tensor([0.3, 0.7], dtype=torch.float64)
    components = torch.multinomial(weights, n, replacement=True, generator=g)
    return torch.bernoulli(means[components], generator=g), means, weights


def test_score_samples_is_the_exact_mixture_likelihood():
    x, _, _ = known_mixture_data(500)
    mixture = BernoulliMixture(n_components=3, max_iter=5).fit(x)
    point = torch.tensor([[1.0, 0, 1, 1, 0, 1]], dtype=torch.float64)
    by_hand = math.log(sum(float(w) * math.prod(float(m) if v else 1 - float(m) for m, v in zip(mu, point[0]))
                           for w, mu in zip(mixture.weights_, mixture.means_)))
    assert mixture.score_samples(point).item() == pytest.approx(by_hand, abs=1e-10)
    # The probabilities of all 2⁶ binary vectors sum to one.
    everything = torch.tensor(list(itertools.product([0.0, 1.0], repeat=6)), dtype=torch.float64)
    assert mixture.score_samples(everything).exp().sum().item() == pytest.approx(1.0, abs=1e-10)


def test_em_never_lowers_the_likelihood_and_recovers_a_known_mixture():
    x, means, weights = known_mixture_data()
    mixture = BernoulliMixture(n_components=2, max_iter=200, tol=1e-10, smoothing=1e-6).fit(x)
    steps = torch.tensor(mixture.log_likelihoods_)
    assert torch.all(steps[1:] - steps[:-1] > -1e-9)
    order = mixture.weights_.argsort()
    # 4000 draws: the standard error of a fitted mean is at most sqrt(0.25 / 1200) ≈ 0.015.
    assert torch.allclose(mixture.means_[order], means, atol=0.06)
    assert torch.allclose(mixture.weights_[order], weights, atol=0.04)


def test_grey_values_are_refused():
    with pytest.raises(ValueError, match="binary data only"):
        BernoulliMixture(2).fit(torch.rand(10, 3))
