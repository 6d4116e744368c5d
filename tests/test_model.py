"""The model's distributions: families, shapes, the σ = exp(½ log σ²) convention, initialisation."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal

import aevb


def test_encode_decode_and_prior_are_distributions_of_the_promised_shapes():
    model = aevb.VAE(784, 20, hidden=(500,), activation="tanh", likelihood="bernoulli")
    x = torch.rand(7, 784)
    q_z = model.encode(x)
    assert isinstance(q_z, Independent) and isinstance(q_z.base_dist, Normal)
    assert q_z.batch_shape == (7,) and q_z.event_shape == (20,)
    z = q_z.rsample((3,))
    p_x = model.decode(z)
    assert isinstance(p_x.base_dist, Bernoulli)
    assert p_x.batch_shape == (3, 7) and p_x.event_shape == (784,)
    assert model.prior.event_shape == (20,)
    assert torch.equal(model.prior.mean, torch.zeros(20)) and torch.equal(model.prior.stddev, torch.ones(20))


def test_encoder_scale_is_exp_of_half_the_log_variance():
    model = aevb.VAE(4, 2, hidden=())
    with torch.no_grad():
        model.encoder_head.weight.zero_()
        model.encoder_head.bias.copy_(torch.tensor([0.5, -1.0, math.log(4.0), math.log(0.25)]))
    q = model.encode(torch.rand(3, 4))
    assert torch.allclose(q.mean, torch.tensor([0.5, -1.0]).expand(3, 2))
    assert torch.allclose(q.stddev, torch.tensor([2.0, 0.5]).expand(3, 2))   # σ, not σ²


def test_bernoulli_log_prob_is_the_cross_entropy_for_grey_values():
    model = aevb.VAE(6, 2, hidden=(4,))
    z = torch.randn(5, 2)
    x = torch.rand(5, 6)
    p = torch.sigmoid(model.likelihood.logits(model.decoder(z)))
    by_hand = (x * p.log() + (1 - x) * (1 - p).log()).sum(-1)
    assert torch.allclose(model.decode(z).log_prob(x), by_hand, atol=1e-5)


@pytest.mark.parametrize("mean", ["sigmoid", "linear"])
@pytest.mark.parametrize("variance", ["network", "learned", "fixed"])
def test_gaussian_decoder_log_density(mean, variance):
    model = aevb.VAE(6, 2, hidden=(4,), likelihood="gaussian", gaussian_mean=mean, gaussian_variance=variance,
                     fixed_variance=0.3).double()
    z = torch.randn(5, 2, dtype=torch.float64)
    x = torch.randn(5, 6, dtype=torch.float64)
    h = model.decoder(z)
    loc = model.likelihood.loc(h)
    loc = torch.sigmoid(loc) if mean == "sigmoid" else loc
    variance_by_mode = {"network": lambda: model.likelihood.log_var(h).exp(),
                        "learned": lambda: model.likelihood.log_var.log_var.exp().expand(5, 6),
                        "fixed": lambda: torch.full((5, 6), 0.3, dtype=torch.float64)}
    var = variance_by_mode[variance]()
    by_hand = (-0.5 * torch.log(2 * math.pi * var) - (x - loc) ** 2 / (2 * var)).sum(-1)
    assert torch.allclose(model.decode(z).log_prob(x), by_hand, atol=1e-10)
    depends_on_z = not torch.allclose(model.decode(z).variance[0], model.decode(z).variance[1])
    assert depends_on_z == (variance == "network")


def test_paper_initialisation():
    model = aevb.VAE(784, 20, hidden=(500,), init="paper")
    weight = model.encoder[0].weight
    assert abs(weight.std().item() - 0.01) < 0.0002       # 392 000 draws: the std's own error is ~1e-5
    assert abs(weight.mean().item()) < 0.0002
    assert all(torch.count_nonzero(layer.bias) == 0 for layer in model.modules() if isinstance(layer, torch.nn.Linear))
    assert torch.count_nonzero(model.encoder_head.weight[20:]) == 0       # log σ² head starts at 0
    assert torch.count_nonzero(model.encoder_head.weight[:20]) > 0
    assert abs(aevb.VAE(784, 20).encoder[0].weight.std().item() - 0.01) > 0.005   # the default is PyTorch's


def test_hidden_empty_gives_linear_maps():
    model = aevb.VAE(5, 2, hidden=(), likelihood="gaussian", gaussian_mean="linear", gaussian_variance="learned")
    assert len(model.encoder) == 0 and len(model.decoder) == 0
    assert sum(isinstance(m, torch.nn.Linear) for m in model.modules()) == 2   # the two heads


def test_deeper_networks_mirror_the_encoder():
    model = aevb.VAE(10, 3, hidden=(8, 6), activation="relu")
    widths = [m.out_features for m in model.decoder if isinstance(m, torch.nn.Linear)]
    assert widths == [6, 8]
    assert model.decode(torch.randn(2, 3)).event_shape == (10,)


def test_under_autocast_a_dense_layer_computes_in_bfloat16_and_returns_float32():
    layer = aevb.kernels.dense.Dense(300, 50, "tanh")
    x = torch.randn(64, 300)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
    assert y.dtype == torch.float32
    assert torch.equal(y, y.bfloat16().float())                   # values of bfloat16: 8 significant bits
    # The product of the bf16-rounded inputs, accumulated exactly, then tanh: y is within rounding of it —
    # one rounding (2⁻⁸ relative) where oneDNN applies tanh to the float32 accumulator, two where PyTorch
    # emulates bfloat16 and rounds the product before tanh too.
    exact = torch.tanh(torch.nn.functional.linear(*(t.bfloat16().double() for t in (x, layer.weight, layer.bias))))
    roundings = 1 if aevb.kernels.dense.ONEDNN_BF16 else 2
    assert torch.allclose(y.double(), exact, rtol=roundings * 2 ** -8, atol=1e-6)
    full = layer(x)
    # Rounding x and W to 8 bits moves a sum of 300 products of N(0,1)·U(±1/√300) by ~1e-2.
    assert 1e-4 < (y - full).abs().max() < 0.1


def test_sample_draws_from_the_prior_through_the_decoder():
    model = aevb.VAE(6, 2, hidden=(4,))
    torch.manual_seed(3)
    means = model.sample(4)
    torch.manual_seed(3)
    z = model.prior.sample((4,))
    assert torch.allclose(means, model.decode(z).mean)
    draws = model.sample(50, mean=False)
    assert set(draws.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("options, message", [
    (dict(activation="swish"), "activation='swish'"),
    (dict(likelihood="poisson"), "likelihood='poisson'"),
    (dict(gaussian_variance="diag"), "gaussian_variance='diag'"),
    (dict(latent_dim=0), "latent_dim=0"),
    (dict(hidden=(5, 0)), "hidden="),
    (dict(init="xavier"), "init='xavier'"),
    (dict(fixed_variance=-1.0), "fixed_variance=-1.0"),
    (dict(fixed_variance=float("inf")), "fixed_variance=inf must be a finite number > 0"),
])
def test_bad_configuration_is_named(options, message):
    arguments = dict(data_dim=4, latent_dim=2) | options
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        aevb.VAE(**arguments)


@pytest.mark.parametrize("x, message", [
    (torch.full((3, 4), float("nan")), "NaN"),
    (torch.rand(3, 5), r"shape \(3, 5\)"),
    (torch.rand(3, 4) * 3, r"outside \[0, 1\].*--likelihood gaussian"),
])
def test_check_data_gives_one_clear_error(x, message):
    with pytest.raises(ValueError, match=message):
        aevb.VAE(4, 2, hidden=()).check_data(x)
