"""Importance sampling with q(z|x) as proposal: the log-likelihood estimate and the IWAE bound (docs/maths.md §6).

    log p(x) ≈ log (1/k) Σ_j w_j,   w_j = p(x, z_j) / q(z_j|x),   z_j ~ q(z|x)

Its expectation is the IWAE bound L_k (`objectives.iwae_bound`): L_1 = ELBO ≤ L_k ≤ L_{k+1} ≤ log p(x).
The estimator streams
over chunks of datapoints and of samples, merging log-sum-exps in float64, so memory stays bounded for
any k; the decoder's log-density is computed by `fast_decoders.log_prob_function`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from tqdm import tqdm

from ..errors import InputError
from ..kernels.fast_decoders import log_prob_function
from .bound import Estimate


@dataclass(frozen=True)
class ImportanceSampling:
    """Per-datapoint results of the estimator: log p(x) estimates [N] and effective sample sizes [N]."""

    log_likelihood: torch.Tensor
    effective_sample_size: torch.Tensor
    k: int

    def summary(self) -> dict:
        estimate = Estimate.of(self.log_likelihood)
        return {"log_likelihood": estimate.mean, "log_likelihood_stderr": estimate.stderr, "n": estimate.n,
                "k": self.k, "ess_mean": float(self.effective_sample_size.double().mean()),
                "ess_min": float(self.effective_sample_size.min())}


@torch.no_grad()
def importance_sampling(model, x: torch.Tensor, k: int = 5000, sample_chunk: int = 5000,
                        progress: bool = False, seed: int | None = None) -> ImportanceSampling:
    """Estimate log p(x) for every row of x [N, D] with k importance samples each.

    Works one datapoint at a time in chunks of `sample_chunk` samples; the effective sample size
    (Σ w)² / Σ w² of each datapoint's weights is returned beside the estimate. With a `seed`, every row
    uses the same k draws of ε, from a generator seeded with it: each row's estimate is still unbiased
    for its L_k, and depends on that row alone, not on the rows scored with it or their order.
    """
    if k < 1:
        raise InputError(f"k={k!r} must be a positive integer (importance samples per datapoint)")
    was_training = model.training
    model.eval()
    try:
        return _importance_sampling(model, x, k, sample_chunk, progress, seed)
    finally:
        model.train(was_training)


def _importance_sampling(model, x: torch.Tensor, k: int, sample_chunk: int, progress: bool,
                         seed: int | None) -> ImportanceSampling:
    decoder_log_prob = log_prob_function(model)
    q_z = model.encode(x)
    loc, scale = q_z.base_dist.loc, q_z.base_dist.scale                      # [N, Nz]
    latent_dim = loc.shape[1]
    log_q_constant = -scale.log().sum(1) - 0.5 * latent_dim * math.log(2 * math.pi)   # [N]
    log_sum_w = torch.empty(len(x), dtype=torch.float64, device=x.device)
    log_sum_w2 = torch.empty_like(log_sum_w)
    sizes = [min(sample_chunk, k - start) for start in range(0, k, sample_chunk)]
    generator = None if seed is None else torch.Generator(x.device).manual_seed(seed)
    # Drawn in float32 whatever the model's type, so that float32 and float64 scores see the same ε.
    shared = None if seed is None else [torch.randn(size, latent_dim, generator=generator, device=x.device)
                                        .to(loc.dtype) for size in sizes]
    for i in tqdm(range(len(x)), desc=f"log p(x), k={k}", unit="datapoint", disable=not progress):
        lse, lse2 = [], []
        for chunk, size in enumerate(sizes):
            eps = shared[chunk] if shared else torch.randn(size, latent_dim, device=x.device, dtype=loc.dtype)  # [S, Nz]
            z = torch.addcmul(loc[i], eps, scale[i])                        # z = μ + σ ⊙ ε (docs/maths.md §3)
            log_prior = -0.5 * (z.square().sum(1) + latent_dim * math.log(2 * math.pi))     # log N(z; 0, I)
            log_q = log_q_constant[i] - 0.5 * eps.square().sum(1)                           # log q(z|x)
            log_w = (decoder_log_prob(z, x[i]) + log_prior - log_q).double()                # [S]
            lse.append(torch.logsumexp(log_w, 0))
            lse2.append(torch.logsumexp(2 * log_w, 0))
        log_sum_w[i] = torch.logsumexp(torch.stack(lse), 0)
        log_sum_w2[i] = torch.logsumexp(torch.stack(lse2), 0)
    return ImportanceSampling((log_sum_w - math.log(k)).to(x.dtype), torch.exp(2 * log_sum_w - log_sum_w2).to(x.dtype), k)


def log_likelihood(model, x: torch.Tensor, k: int = 5000, **options) -> torch.Tensor:
    """The importance-sampled estimate of log p(x) for every row of x: [N] nats (docs/maths.md §6)."""
    return importance_sampling(model, x, k, **options).log_likelihood
