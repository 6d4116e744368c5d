"""A mixture of multivariate Bernoullis fitted by EM: the classic density model for binary images, which
a Bernoulli VAE generalises ("an infinite mixture"), with an sklearn-style face.

    p(x) = Σ_k π_k Π_d μ_kd^x_d (1 − μ_kd)^(1 − x_d)

E-step: responsibilities r_ik = p(k | x_i) in log space. M-step: π_k = mean_i r_ik and
μ_kd = (Σ_i r_ik x_id + a) / (Σ_i r_ik + 2a), a small symmetric Beta(1 + a, 1 + a) prior that keeps every μ
inside (0, 1) so that no test image gets probability 0. Each EM iteration cannot lower the (penalised)
training log-likelihood; `log_likelihoods_` records it per iteration.
"""

from __future__ import annotations

import torch


class BernoulliMixture:
    def __init__(self, n_components: int = 100, max_iter: int = 100, tol: float = 1e-4, smoothing: float = 1e-2,
                 seed: int = 0):
        if n_components < 1:
            raise ValueError(f"n_components={n_components!r} must be a positive integer")
        self.n_components, self.max_iter, self.tol, self.smoothing, self.seed = (
            n_components, max_iter, tol, smoothing, seed)

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float64)
        if x.ndim != 2:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected [N, D]")
        if not bool(((x == 0) | (x == 1)).all()):
            raise ValueError("a Bernoulli mixture scores binary data only: binarise x (values 0 and 1)")
        return x

    def _log_joint(self, x: torch.Tensor) -> torch.Tensor:
        """log π_k + log p(x_i | k): [N, K]."""
        log_mu, log_one_minus = self.means_.log(), torch.log1p(-self.means_)                  # [K, D]
        return self.weights_.log() + x @ log_mu.T + (1 - x) @ log_one_minus.T

    def fit(self, x) -> "BernoulliMixture":
        x = self._check(x)
        generator = torch.Generator().manual_seed(self.seed)
        mean = x.mean(0)
        # Start from the data mean, perturbed per component (a common, seeded initialisation).
        self.means_ = (0.25 + 0.5 * torch.rand(self.n_components, x.shape[1], generator=generator, dtype=x.dtype)
                       ).mul(0.5).add(0.5 * mean).clamp(1e-3, 1 - 1e-3)
        self.weights_ = torch.full((self.n_components,), 1.0 / self.n_components, dtype=x.dtype)
        self.log_likelihoods_ = []
        for _ in range(self.max_iter):
            log_joint = self._log_joint(x)                                                     # [N, K]
            log_px = torch.logsumexp(log_joint, 1)                                             # [N]
            self.log_likelihoods_.append(float(log_px.mean()))
            responsibilities = (log_joint - log_px[:, None]).exp()                             # [N, K]
            counts = responsibilities.sum(0)                                                   # [K]
            self.weights_ = (counts / len(x)).clamp_min(1e-12)
            a = self.smoothing
            self.means_ = (responsibilities.T @ x + a) / (counts[:, None] + 2 * a)
            if len(self.log_likelihoods_) > 1 and self.log_likelihoods_[-1] - self.log_likelihoods_[-2] < self.tol:
                break
        return self

    def score_samples(self, x) -> torch.Tensor:
        """log p(x_i) in nats for every row: [N]."""
        return torch.logsumexp(self._log_joint(self._check(x)), 1)

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        components = torch.multinomial(self.weights_, n, replacement=True, generator=generator)
        return torch.bernoulli(self.means_[components], generator=generator)
