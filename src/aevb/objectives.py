"""The SGVB estimators of the variational lower bound (docs/maths.md §2, §4) and the MAP weight prior (§5)."""

from __future__ import annotations

import math

import torch
from torch.distributions import Distribution, kl_divergence

from .errors import InputError, check_choice


def analytic_kl(q_z: Distribution, prior: Distribution, z: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) ‖ p(z)) in closed form (estimator B): for the Gaussian pair
    −KL = ½ Σ_j (1 + log σ_j² − μ_j² − σ_j²). Returns [B]."""
    return kl_divergence(q_z, prior)


def monte_carlo_kl(q_z: Distribution, prior: Distribution, z: torch.Tensor) -> torch.Tensor:
    """(1/L) Σ_l [log q(z_l|x) − log p(z_l)] on the same L draws z [L, B, Nz] (estimator A). Returns [B]."""
    return (q_z.log_prob(z) - prior.log_prob(z)).mean(0)


KL_ESTIMATORS = {"analytic": analytic_kl, "mc": monte_carlo_kl}
ESTIMATORS = {"A": "mc", "B": "analytic"}   # the paper's names for the two choices of KL term


def reparameterised_draws(q_z: Distribution, count: int, noise: torch.Tensor | None = None) -> torch.Tensor:
    """z = μ + σ ⊙ ε (docs/maths.md §3) for ε ~ N(0, I) [count, B, Nz], drawn here or given as `noise` (so that
    several processes can share one global draw): [count, B, Nz]."""
    loc, scale = q_z.base_dist.loc, q_z.base_dist.scale                     # [B, Nz]
    shape = (count, *loc.shape)
    if noise is None:
        noise = torch.randn(shape, dtype=loc.dtype, device=loc.device)
    elif noise.shape != shape:
        raise InputError(f"noise has shape {tuple(noise.shape)}; expected {shape} (draws, batch, latent_dim)")
    return loc + scale * noise


def elbo(model, x: torch.Tensor, samples: int = 1, kl: str = "analytic", beta: float = 1.0,
         noise: torch.Tensor | None = None, check: bool = True) -> torch.Tensor:
    """SGVB estimate of L(θ, φ; x) in nats per datapoint, x [B, D] → [B].

    kl="analytic" is estimator B, kl="mc" estimator A (docs/maths.md §4); `samples` is L; `beta` weighs the KL
    term (β-VAE; β = 1 is the bound itself); `noise` optionally gives ε [L, B, Nz]. `check=False` skips the
    check of x against the likelihood's support, for data checked once before (the training loop's).
    """
    check_choice("kl", kl, KL_ESTIMATORS)
    if samples < 1:
        raise InputError(f"samples={samples!r} must be a positive integer (L, draws of z per datapoint)")
    if check:
        model.likelihood.check_support(x, "x")           # e.g. a Bernoulli likelihood scores only [0, 1]
    q_z = model.encode(x)
    z = reparameterised_draws(q_z, samples, noise)       # [L, B, Nz]
    log_px_given_z = model.decode(z).log_prob(x)         # [L, B]
    return log_px_given_z.mean(0) - beta * KL_ESTIMATORS[kl](q_z, model.prior, z)


def log_weights(model, x: torch.Tensor, k: int, noise: torch.Tensor | None = None, check: bool = True) -> torch.Tensor:
    """log w_j = log p(x, z_j) − log q(z_j|x) for k reparameterised draws z_j ~ q(z|x): [k, B] (docs/maths.md §6).
    `check=False` skips the check of x against the likelihood's support (data checked before)."""
    if check:
        model.likelihood.check_support(x, "x")
    q_z = model.encode(x)
    z = reparameterised_draws(q_z, k, noise)                                # [k, B, Nz]
    return model.decode(z).log_prob(x) + model.prior.log_prob(z) - q_z.log_prob(z)


def iwae_bound(model, x: torch.Tensor, k: int, noise: torch.Tensor | None = None, check: bool = True) -> torch.Tensor:
    """L_k(x) = log (1/k) Σ_j w_j for one draw of k samples, differentiable (Burda et al. 2016): [B].
    L_1 is the ELBO (estimator A); L_k rises towards log p(x) as k grows (docs/maths.md §6)."""
    if k < 1:
        raise InputError(f"k={k!r} must be a positive integer (importance samples per datapoint)")
    return torch.logsumexp(log_weights(model, x, k, noise, check), dim=0) - math.log(k)


def wake_sleep_surrogate(model, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
    """A per-datapoint objective [B] whose gradient is the wake-sleep update (Hinton et al. 1995), the
    paper's Figure 2 baseline, with the same encoder and decoder:

    - wake: z ~ q(z|x) held fixed, θ ascends log p(x, z) (no gradient reaches φ through z);
    - sleep: z ~ p(z), x̃ ~ p(x|z) drawn without gradient, φ ascends log q(z|x̃).

    Its value is not a bound; report the ELBO (`elbo`) to compare with AEVB, as the paper does.
    """
    q_z = model.encode(x)
    z = reparameterised_draws(q_z, 1, noise)[0].detach()                   # [B, Nz]
    wake = log_joint(model, x, z)
    with torch.no_grad():
        dream_z = model.prior.sample((len(x),))
        dream_x = model.decode(dream_z).sample()
    sleep = model.encode(dream_x).log_prob(dream_z)
    return wake + sleep


def log_joint(model, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """log p(x, z) = log p(z) + log p(x|z) for x [..., D] and z [..., Nz]: [...]."""
    return model.prior.log_prob(z) + model.decode(z).log_prob(x)


def autoencoder_reconstruction(model, x: torch.Tensor) -> torch.Tensor:
    """log p(x | z = E_q[z|x]) for x [B, D] → [B]: the deterministic autoencoder's objective, with the
    same networks (the encoder's mean head only; no prior, no sampling). Not a bound on log p(x)."""
    return model.decode(model.encode(x).mean).log_prob(x)


def log_weight_prior(model) -> torch.Tensor:
    """log p(θ) for p(θ) = N(0, I) over every weight of the model, up to its additive constant (docs/maths.md §5).

    The training objective per datapoint is then mean_i L(x_i) + log p(θ) / N, so that N times it is
    the paper's full-data MAP objective Σ_i L(x_i) + log p(θ). The prior covers the recognition
    parameters φ as well as θ, as a weight decay on all weights.
    """
    return -0.5 * sum(p.pow(2).sum() for p in model.parameters())
