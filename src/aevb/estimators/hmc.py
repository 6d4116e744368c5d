"""Hybrid (Hamiltonian) Monte Carlo on the latent posterior p(z|x) ∝ p(z) p(x|z), batched over chains.

Used by the paper's marginal-likelihood estimator (its Appendix D) and by Monte Carlo EM (Appendix E):
L leapfrog steps per proposal, a step size per chain adapted during burn-in towards a target
acceptance rate (the paper: 90 %), then held fixed so that the chain leaves p(z|x) invariant.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..objectives import log_joint


def _value_and_grad(model, x, z):
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        value = log_joint(model, x, z)
        (grad,) = torch.autograd.grad(value.sum(), z)
    return value.detach(), grad


@dataclass
class HMCResult:
    samples: torch.Tensor          # [n, C, Nz]
    acceptance: torch.Tensor       # [C], after burn-in
    step_size: torch.Tensor        # [C]


@torch.no_grad()
def transition(model, x: torch.Tensor, z: torch.Tensor, step: torch.Tensor, leapfrog_steps: int = 10,
               current=None) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One HMC proposal and Metropolis correction per chain, leaving p(z|x) invariant for a fixed `step`
    [C, 1]. Unit mass; the step is jittered by a uniform factor in [0.5, 1.5), drawn independently of z,
    which keeps detailed balance and breaks the resonance of a fixed trajectory length with the
    posterior's scales. `current` = (log p(x, z), its gradient) if known. Returns (z [C, Nz],
    accepted [C] bool, (log p(x, z), gradient) at the returned z)."""
    log_p, grad = _value_and_grad(model, x, z) if current is None else current
    momentum = torch.randn_like(z)
    eps = step * (0.5 + torch.rand_like(step))
    z_new, p_new, grad_new = z, momentum + 0.5 * eps * grad, grad
    for leap in range(leapfrog_steps):
        z_new = z_new + eps * p_new
        log_p_new, grad_new = _value_and_grad(model, x, z_new)
        if leap < leapfrog_steps - 1:
            p_new = p_new + eps * grad_new
    p_new = p_new + 0.5 * eps * grad_new
    # Metropolis correction: H = −log p(x, z) + ½|p|²
    log_ratio = (log_p_new - 0.5 * p_new.square().sum(1)) - (log_p - 0.5 * momentum.square().sum(1))
    accept = torch.log(torch.rand(len(z), device=z.device)) < torch.nan_to_num(log_ratio, nan=-float("inf"))
    z = torch.where(accept[:, None], z_new, z)
    current = (torch.where(accept, log_p_new, log_p), torch.where(accept[:, None], grad_new, grad))
    return z, accept, current


def adapted(step: torch.Tensor, accepted: torch.Tensor, target_acceptance: float) -> torch.Tensor:
    """The burn-in rule log(step) += 0.1·(accepted − target), per chain: step [C, 1], accepted [C]."""
    return step * torch.exp(0.1 * (accepted.to(step.dtype) - target_acceptance))[:, None]


@torch.no_grad()
def hmc(model, x: torch.Tensor, z: torch.Tensor, n_samples: int, burn_in: int = 200, leapfrog_steps: int = 10,
        step_size=0.1, target_acceptance: float = 0.9) -> HMCResult:
    """n_samples draws from p(z|x) for each of the C chains started at z [C, Nz] (x [C, D], one row per
    chain). `step_size` a number or one per chain [C]; during burn-in the steps are `adapted` towards
    the target acceptance, after it they stay fixed."""
    chains = len(z)
    step = torch.as_tensor(step_size, dtype=z.dtype, device=z.device).expand(chains).clone()[:, None]
    current = None
    samples, accepted_after_burn_in = [], torch.zeros(chains, device=z.device)
    for iteration in range(burn_in + n_samples):
        z, accept, current = transition(model, x, z, step, leapfrog_steps, current)
        if iteration < burn_in:
            step = adapted(step, accept, target_acceptance)
        else:
            accepted_after_burn_in += accept
            samples.append(z)
    return HMCResult(torch.stack(samples), accepted_after_burn_in / max(n_samples, 1), step.squeeze(1))
