"""The hand-written forward and backward pass of estimator B against autograd on objectives.elbo."""

import pytest
import torch

import aevb
from aevb import fused_elbo, onednn

pytestmark = pytest.mark.skipif(not onednn.ONEDNN, reason="the fused pass needs oneDNN's linear")


@pytest.mark.parametrize("options, beta", [
    (dict(data_dim=784, latent_dim=20, hidden=(500,), activation="tanh"), 1.0),
    (dict(data_dim=30, latent_dim=4, hidden=(32, 16), activation="relu"), 2.5),
    (dict(data_dim=30, latent_dim=3, hidden=(), activation="tanh"), 1.0),
    (dict(data_dim=30, latent_dim=3, hidden=(12,), activation="sigmoid", init="paper"), 0.5),
])
def test_bound_and_gradients_equal_autograd(options, beta):
    torch.manual_seed(0)
    model = aevb.VAE(**options)
    x = torch.rand(64, options["data_dim"]).round()
    noise = torch.randn(1, 64, options["latent_dim"])
    assert fused_elbo.supports(model, "elbo", "B", 1, x)

    model.zero_grad()
    fused = fused_elbo.fused_bound_sum(model, x, noise, beta)
    fused.backward()
    fused_grads = {name: p.grad.clone() for name, p in model.named_parameters()}

    model.zero_grad()
    reference = aevb.elbo(model, x, samples=1, kl="analytic", beta=beta, noise=noise).sum()
    reference.backward()
    assert torch.allclose(fused, reference, rtol=1e-5)
    for name, p in model.named_parameters():
        scale = p.grad.abs().max().item() + 1e-6
        assert torch.allclose(fused_grads[name], p.grad, atol=2e-4 * scale, rtol=1e-4), name


def test_other_objectives_take_the_general_path():
    model = aevb.VAE(10, 2, hidden=(4,))
    x = torch.rand(5, 10)
    assert not fused_elbo.supports(model, "elbo", "A", 1, x)
    assert not fused_elbo.supports(model, "elbo", "B", 2, x)
    assert not fused_elbo.supports(model, "iwae", "B", 1, x)
    assert not fused_elbo.supports(model.double(), "elbo", "B", 1, x.double())
    assert not fused_elbo.supports(aevb.VAE(10, 2, likelihood="gaussian"), "elbo", "B", 1, x)
    assert not fused_elbo.supports(aevb.VAE(10, 2, activation="elu"), "elbo", "B", 1, x)
