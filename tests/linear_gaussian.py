"""The linear-Gaussian model of docs/maths.md §6 as an aevb.VAE, with its exact answers (aevb.estimators.linear_gaussian).

Decoder p(x|z) = N(Wz + b, diag ψ), prior N(0, I): then p(x) = N(b, WWᵀ + diag ψ) and the posterior
is N(Σ Wᵀψ⁻¹(x − b), Σ) with Σ = (I + Wᵀψ⁻¹W)⁻¹. Choosing W = ψ^½ U S (U orthonormal columns,
S diagonal) makes Σ diagonal, so the exact posterior is a member of the recognition family.
"""

import torch

import aevb
from aevb.estimators.linear_gaussian import decoder_parameters, exact_elbo, exact_log_likelihood  # noqa: F401


def linear_gaussian_vae(data_dim=6, latent_dim=2, seed=0):
    """A float64 VAE with hidden=() (linear maps), a linear Gaussian mean and a learned variance;
    its encoder is set to the exact posterior."""
    g = torch.Generator().manual_seed(seed)
    model = aevb.VAE(data_dim, latent_dim, hidden=(), likelihood="gaussian", gaussian_mean="linear",
                     gaussian_variance="learned").double()
    psi = 0.2 + torch.rand(data_dim, generator=g, dtype=torch.float64)                  # [D]
    u, _ = torch.linalg.qr(torch.randn(data_dim, latent_dim, generator=g, dtype=torch.float64))
    s = 0.5 + 1.5 * torch.rand(latent_dim, generator=g, dtype=torch.float64)            # [Nz]
    w = psi.sqrt()[:, None] * u * s                                                     # [D, Nz]
    b = torch.randn(data_dim, generator=g, dtype=torch.float64)
    with torch.no_grad():
        model.likelihood.loc.weight.copy_(w)
        model.likelihood.loc.bias.copy_(b)
        model.likelihood.log_var.log_var.copy_(psi.log())
    set_encoder_to_exact_posterior(model)
    return model


def set_encoder_to_exact_posterior(model):
    w, b, psi = decoder_parameters(model)
    nz = w.shape[1]
    precision = torch.eye(nz, dtype=w.dtype) + w.T @ (w / psi[:, None])                 # [Nz, Nz], diagonal
    covariance = torch.linalg.inv(precision)
    assert torch.allclose(covariance, torch.diag(torch.diagonal(covariance)), atol=1e-12)
    gain = covariance @ (w.T / psi)                                                     # [Nz, D]
    with torch.no_grad():
        head = model.encoder_head
        head.weight[:nz] = gain
        head.bias[:nz] = -gain @ b
        head.weight[nz:] = 0
        head.bias[nz:] = torch.diagonal(covariance).log()


def perturb_encoder(model, scale=0.3, seed=1):
    """Move q away from the exact posterior."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.encoder_head.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
