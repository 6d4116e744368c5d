"""What the pictures show, as arrays: the latent manifold, reconstructions, interpolations and traversals
(the paper's Figures 4 and 5, and the usual companions). The latent means of a data set are
`aevb.estimators.diagnostics.latent_means`."""

from __future__ import annotations

import torch
from torch.distributions import Normal

from ..errors import InputError


def manifold_quantiles(n: int) -> torch.Tensor:
    """n points in (0, 1) spaced evenly, (i + ½)/n, mapped through the inverse CDF of N(0, 1): [n]
    (the paper's Figure 4: "linearly spaced coordinates on the unit square were transformed through
    the inverse CDF of the Gaussian")."""
    return Normal(0.0, 1.0).icdf((torch.arange(n, dtype=torch.float64) + 0.5) / n).float()


def latent_plane(model, n: int, dims: tuple[int, int] = (0, 1), basis: torch.Tensor | None = None) -> torch.Tensor:
    """z for an n×n grid, rows top to bottom: [n·n, Nz]. The grid's two coordinates set latent
    dimensions `dims` (the others 0), or, with `basis` [2, Nz], move along those two directions."""
    latent_dim = model.config.latent_dim
    parameter = next(model.parameters())
    if basis is None:
        if len(set(dims)) != 2 or not all(0 <= d < latent_dim for d in dims):
            raise InputError(f"dims={dims}: name two different latent dimensions in 0..{latent_dim - 1}")
        basis = torch.zeros(2, latent_dim, dtype=parameter.dtype, device=parameter.device)
        basis[0, dims[0]] = basis[1, dims[1]] = 1.0
    values = manifold_quantiles(n).to(basis)
    rows, columns = torch.meshgrid(values.flip(0), values, indexing="ij")         # y up, x right
    return torch.stack([columns.reshape(-1), rows.reshape(-1)], 1) @ basis


@torch.no_grad()
def decoded_means(model, z: torch.Tensor) -> torch.Tensor:
    return model.decode(z).mean


def principal_plane(means: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The centre [Nz] and the two leading principal directions [2, Nz] of latent means [N, Nz],
    each direction scaled by its standard deviation."""
    centre = means.mean(0)
    _, singular_values, directions = torch.linalg.svd(means - centre, full_matrices=False)
    scale = singular_values[:2] / (len(means) - 1) ** 0.5
    return centre, directions[:2] * scale[:, None]


@torch.no_grad()
def reconstructions(model, x: torch.Tensor) -> torch.Tensor:
    """The mean of p(x|z) at z = E_q[z|x]: [N, D]."""
    return decoded_means(model, model.encode(x).mean)


@torch.no_grad()
def interpolation(model, a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Decoded means along the straight line between the latent means of a and b [D]: [steps, D]."""
    za, zb = model.encode(torch.stack([a, b])).mean
    weights = torch.linspace(0, 1, steps, dtype=za.dtype, device=za.device)[:, None]
    return decoded_means(model, (1 - weights) * za + weights * zb)


@torch.no_grad()
def traversals(model, x: torch.Tensor, steps: int, span: float = 3.0) -> torch.Tensor:
    """For each latent dimension u, the decoded means as z_u runs over [−span, span] with the other
    dimensions at E_q[z|x] for one datapoint x [D]: [Nz, steps, D]."""
    centre = model.encode(x[None]).mean[0]
    latent_dim = len(centre)
    z = centre.repeat(latent_dim, steps, 1)                                         # [Nz, steps, Nz]
    values = torch.linspace(-span, span, steps, dtype=centre.dtype, device=centre.device)
    for u in range(latent_dim):
        z[u, :, u] = values
    return decoded_means(model, z)
