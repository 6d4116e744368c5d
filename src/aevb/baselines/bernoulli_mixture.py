"""A mixture of multivariate Bernoullis fitted by EM: the classic density model for binary images, which
a Bernoulli VAE generalises ("an infinite mixture"), as a scikit-learn estimator (like `GaussianMixture`).

    p(x) = Σ_k π_k Π_d μ_kd^x_d (1 − μ_kd)^(1 − x_d)

E-step: responsibilities r_ik = p(k | x_i) in log space. M-step: π_k = mean_i r_ik and
μ_kd = (Σ_i r_ik x_id + a) / (Σ_i r_ik + 2a), a small symmetric Beta(1 + a, 1 + a) prior that keeps every μ
inside (0, 1) so that no test image gets probability 0. Each EM iteration cannot lower the (penalised)
training log-likelihood; `log_likelihoods_` records it per iteration.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import InputError


class BernoulliMixture(DensityMixin, BaseEstimator):
    """n_components Bernoulli products fitted by EM to binary rows [N, D].

    Fitted attributes: `weights_` [K], `means_` [K, D], `log_likelihoods_` (mean training log p(x) per
    iteration), `n_iter_`, `converged_` (whether the gain fell below `tol` before `max_iter`)."""

    def __init__(self, n_components: int = 100, max_iter: int = 100, tol: float = 1e-4, smoothing: float = 1e-2,
                 random_state=None):
        self.n_components = n_components
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.random_state = random_state

    def _binary(self, X, reset: bool) -> torch.Tensor:
        x = torch.from_numpy(validate_data(self, X, dtype=np.float64, reset=reset))
        if not bool(((x == 0) | (x == 1)).all()):
            raise InputError("a Bernoulli mixture scores binary data only: binarise X (values 0 and 1)")
        return x

    def _log_joint(self, x: torch.Tensor) -> torch.Tensor:
        """log π_k + log p(x_i | k): [N, K]."""
        means, weights = torch.from_numpy(self.means_), torch.from_numpy(self.weights_)
        return weights.log() + x @ means.log().T + (1 - x) @ torch.log1p(-means).T

    def fit(self, X, y=None) -> "BernoulliMixture":
        if not (isinstance(self.n_components, int) and self.n_components >= 1):
            raise InputError(f"n_components={self.n_components!r} must be a positive integer")
        x = self._binary(X, reset=True)
        seed = (self.random_state if isinstance(self.random_state, int)
                else int(check_random_state(self.random_state).randint(2 ** 31)))
        generator = torch.Generator().manual_seed(seed)
        # Start from the data mean, perturbed per component (a common, seeded initialisation).
        means = (0.25 + 0.5 * torch.rand(self.n_components, x.shape[1], generator=generator, dtype=x.dtype)
                 ).mul(0.5).add(0.5 * x.mean(0)).clamp(1e-3, 1 - 1e-3)
        self.means_ = means.numpy()
        self.weights_ = np.full(self.n_components, 1.0 / self.n_components)
        self.log_likelihoods_, self.converged_ = [], False
        for self.n_iter_ in range(1, self.max_iter + 1):
            log_joint = self._log_joint(x)                                                     # [N, K]
            log_px = torch.logsumexp(log_joint, 1)                                             # [N]
            self.log_likelihoods_.append(float(log_px.mean()))
            responsibilities = (log_joint - log_px[:, None]).exp()                             # [N, K]
            counts = responsibilities.sum(0)                                                   # [K]
            self.weights_ = (counts / len(x)).clamp_min(1e-12).numpy()
            a = self.smoothing
            self.means_ = ((responsibilities.T @ x + a) / (counts[:, None] + 2 * a)).numpy()
            if len(self.log_likelihoods_) > 1 and self.log_likelihoods_[-1] - self.log_likelihoods_[-2] < self.tol:
                self.converged_ = True
                break
        if not self.converged_:
            warnings.warn(f"EM did not converge in max_iter={self.max_iter} iterations (last gain "
                          f"{np.diff(self.log_likelihoods_[-2:]).sum():.3g} nats ≥ tol={self.tol}): raise max_iter",
                          ConvergenceWarning, stacklevel=2)
        return self

    def score_samples(self, X) -> np.ndarray:
        """log p(x_i) in nats for every row: [N]."""
        check_is_fitted(self)
        return torch.logsumexp(self._log_joint(self._binary(X, reset=False)), 1).numpy()

    def score(self, X, y=None) -> float:
        """The mean log p(x) over the rows of X, in nats."""
        return float(self.score_samples(X).mean())

    def sample(self, n_samples: int = 1, random_state=None) -> tuple[np.ndarray, np.ndarray]:
        """n_samples draws x ~ p(x) [n, D] and the component each came from [n], as `GaussianMixture.sample`."""
        check_is_fitted(self)
        rng = check_random_state(random_state)
        components = rng.choice(self.n_components, size=n_samples, p=self.weights_ / self.weights_.sum())
        return (rng.random_sample((n_samples, self.means_.shape[1])) < self.means_[components]).astype(float), components
