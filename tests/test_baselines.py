"""The mixture baseline: exact log-likelihood, monotone EM, recovery of a known mixture, and scikit-learn's
conventions (clone, not-fitted error, convergence warning, score, sample)."""

import itertools
import math
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from aevb.baselines import BernoulliMixture


def known_mixture_data(n=4000, seed=0):
    g = torch.Generator().manual_seed(seed)
    means = torch.tensor([[0.9, 0.9, 0.1, 0.1, 0.8, 0.2], [0.1, 0.2, 0.9, 0.8, 0.3, 0.7]], dtype=torch.float64)
    weights = torch.tensor([0.3, 0.7], dtype=torch.float64)
    components = torch.multinomial(weights, n, replacement=True, generator=g)
    return torch.bernoulli(means[components], generator=g), means, weights


def test_score_samples_is_the_exact_mixture_likelihood():
    x, _, _ = known_mixture_data(500)
    mixture = BernoulliMixture(n_components=3, max_iter=200).fit(x)
    point = torch.tensor([[1.0, 0, 1, 1, 0, 1]], dtype=torch.float64)
    by_hand = math.log(sum(float(w) * math.prod(float(m) if v else 1 - float(m) for m, v in zip(mu, point[0]))
                           for w, mu in zip(mixture.weights_, mixture.means_)))
    assert mixture.score_samples(point).item() == pytest.approx(by_hand, abs=1e-10)
    # The probabilities of all 2⁶ binary vectors sum to one.
    everything = np.array(list(itertools.product([0.0, 1.0], repeat=6)))
    assert np.exp(mixture.score_samples(everything)).sum() == pytest.approx(1.0, abs=1e-10)
    assert mixture.score(everything) == pytest.approx(mixture.score_samples(everything).mean())


def test_em_never_lowers_the_likelihood_and_recovers_a_known_mixture():
    x, means, weights = known_mixture_data()
    mixture = BernoulliMixture(n_components=2, max_iter=200, tol=1e-10, smoothing=1e-6).fit(x)
    steps = np.array(mixture.log_likelihoods_)
    assert np.all(steps[1:] - steps[:-1] > -1e-9)
    assert mixture.converged_ and mixture.n_iter_ == len(steps) < 200
    order = mixture.weights_.argsort()
    # 4000 draws: the standard error of a fitted mean is at most sqrt(0.25 / 1200) ≈ 0.015.
    assert np.allclose(mixture.means_[order], means.numpy(), atol=0.06)
    assert np.allclose(mixture.weights_[order], weights.numpy(), atol=0.04)
    # Samples follow the fitted model: 20 000 draws put each pixel's frequency within 4 SE (≤ 0.014) of it.
    drawn, components = mixture.sample(20_000, random_state=0)
    assert drawn.shape == (20_000, 6) and set(np.unique(drawn)) <= {0.0, 1.0}
    assert np.allclose(drawn.mean(0), mixture.weights_ @ mixture.means_, atol=0.014)
    assert np.allclose(np.bincount(components) / 20_000, mixture.weights_, atol=0.014)


def test_grey_values_are_refused():
    with pytest.raises(ValueError, match="binary data only"):
        BernoulliMixture(2).fit(torch.rand(10, 3))


def test_scikit_learn_conventions():
    x, _, _ = known_mixture_data(500)
    mixture = BernoulliMixture(n_components=2, max_iter=3, random_state=0)
    with pytest.raises(NotFittedError):
        mixture.score_samples(x)
    with pytest.warns(ConvergenceWarning, match="raise max_iter"):
        mixture.fit(x)
    assert not mixture.converged_ and mixture.n_iter_ == 3 and mixture.n_features_in_ == 6
    copy = clone(mixture)
    assert copy.get_params() == mixture.get_params() and not hasattr(copy, "means_")
    refitted = pickle.loads(pickle.dumps(mixture))
    assert np.array_equal(refitted.score_samples(x), mixture.score_samples(x))
    with pytest.warns(ConvergenceWarning):
        same_seed = clone(mixture).fit(x)
    assert np.array_equal(same_seed.means_, mixture.means_)         # random_state=0: the same fit twice
    with pytest.raises(ValueError, match="6 features"):
        mixture.score_samples(np.zeros((2, 5)))
