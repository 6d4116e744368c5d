"""The hand-written forward and backward pass of estimator B against autograd on objectives.elbo."""

import pytest
import torch

import aevb
from aevb.kernels import dense, fused_elbo

native_bf16 = pytest.mark.skipif(not dense.ONEDNN_BF16, reason="this CPU has no native bfloat16 products "
                                 "(AVX512_BF16 or AMX); the fused pass then leaves bf16 to autograd")


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


@native_bf16
def test_under_bf16_autocast_it_equals_autograd_through_dense_layers_under_autocast():
    """Both lower the matrix products alone to bfloat16; the fused pass must do the same arithmetic."""
    torch.manual_seed(0)
    model = aevb.VAE(784, 20, hidden=(500,))
    x = torch.rand(64, 784).round()
    noise = torch.randn(1, 64, 20)
    results = []
    for bound in (lambda: fused_elbo.fused_bound_sum(model, x, noise, 1.0),
                  lambda: aevb.elbo(model, x, samples=1, kl="analytic", noise=noise).sum()):
        model.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert fused_elbo.supports(model, "elbo", "B", 1, x)
            value = bound()
        value.backward()
        results.append((value, {name: p.grad.clone() for name, p in model.named_parameters()}))
    (fused, fused_grads), (reference, grads) = results
    assert fused.dtype == torch.float32
    assert torch.allclose(fused, reference, rtol=1e-5)
    # The products' results are rounded to 8 significant bits: float32 differences in their inputs (the
    # order of a sum) can move a gradient entry by one unit in that last place, 2⁻⁸ of it.
    for name, grad in grads.items():
        scale = grad.abs().max().item() + 1e-6
        assert torch.allclose(fused_grads[name], grad, atol=2e-4 * scale, rtol=2 ** -7), name


@pytest.mark.parametrize("precision", [None, pytest.param(torch.bfloat16, marks=native_bf16)])
def test_the_direct_gradients_are_what_backward_leaves_bit_for_bit(precision):
    torch.manual_seed(0)
    model = aevb.VAE(784, 20, hidden=(500,))
    x = torch.rand(100, 784).round()
    noise = torch.randn(1, 100, 20)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision is not None):
        model.zero_grad()
        bound = fused_elbo.fused_bound_sum(model, x, noise, 1.0)
    (-bound * (1 / 100)).backward()                       # the training loop's loss on one process
    by_backward = [p.grad.clone() for p in model.parameters()]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision is not None):
        model.zero_grad()
        direct = fused_elbo.bound_and_gradients(model, x, noise, 1.0, scale=-1 / 100)
    assert torch.equal(direct, bound.detach())
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), by_backward))


def test_other_objectives_take_the_general_path():
    model = aevb.VAE(10, 2, hidden=(4,))
    x = torch.rand(5, 10)
    assert not fused_elbo.supports(model, "elbo", "A", 1, x)
    assert not fused_elbo.supports(model, "elbo", "B", 2, x)
    assert not fused_elbo.supports(model, "iwae", "B", 1, x)
    assert not fused_elbo.supports(model.double(), "elbo", "B", 1, x.double())
    assert not fused_elbo.supports(aevb.VAE(10, 2, likelihood="gaussian"), "elbo", "B", 1, x)
    assert not fused_elbo.supports(aevb.VAE(10, 2, activation="elu"), "elbo", "B", 1, x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert fused_elbo.supports(model, "elbo", "B", 1, x) == dense.ONEDNN_BF16
