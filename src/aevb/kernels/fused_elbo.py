"""Estimator B of the ELBO (docs/maths.md §4, L = 1) for an MLP VAE with a Bernoulli decoder, with the forward
and the backward pass written out by hand, for the training loop on the CPU.

Autograd and torch.distributions cost a fixed overhead per operation that, at the paper's minibatch of
M = 100, is as large as the matrix products themselves. This module computes the same bound

    L(x) = Σ_d [x_d l_d − softplus(l_d)] − β · ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²),  z = μ + σ ⊙ ε,

and its exact gradient with the same matrix products (`dense.py`) and a handful of elementwise
operations: `fused_bound_sum` as an autograd function, `bound_and_gradients` straight into each .grad.
`tests/test_fused_elbo.py` checks bound and gradients against autograd on `objectives.elbo`.
Under a bfloat16 `torch.autocast` the layers' products and activations run in bfloat16, as in `Dense`;
the hidden activations are kept in bfloat16, everything else (μ, σ, z, logits, the bound) in float32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .dense import ACTIVATIONS, ONEDNN_BF16, input_gradient, linear, product_dtype, weight_gradient


def supports(model, objective: str, estimator: str, samples: int, x: torch.Tensor) -> bool:
    """Whether the hand-written pass computes this training bound: estimator B, L = 1, a Bernoulli
    decoder, an MLP of Dense layers whose activation has a derivative here, CPU float32 (products in float32, or in
    bfloat16 under autocast on a CPU with native bfloat16 products)."""
    return (objective == "elbo" and estimator == "B" and samples == 1
            and model.config.likelihood == "bernoulli" and model.config.arch == "mlp"
            and x.device.type == "cpu" and x.dtype == torch.float32
            and (product_dtype(x.device) is None or (product_dtype(x.device) == torch.bfloat16 and ONEDNN_BF16))
            and all(ACTIVATIONS[layer.activation].fused for layer in _layers(model)))


def _layers(model) -> list:
    """The Dense layers in forward order."""
    return [*model.encoder, model.encoder_head, *model.decoder, model.likelihood.logits]


def _backward_through(layers, activations, grad, need_input_grad: bool, weights: dict, dtype):
    """Gradients of Dense `layers` (in forward order) whose inputs/outputs are `activations`
    [h_0, ..., h_n], given d/dh_n (float32), products in `dtype` with `weights[layer]` (already in it);
    returns ([(dW, db)] in forward order, d/dh_0 or None), in float32."""
    grads = []
    for index in range(len(layers) - 1, -1, -1):
        layer, output, inputs = layers[index], activations[index + 1], activations[index]
        if layer.activation != "none":                                                      # d/d(pre-activation)
            grad = ACTIVATIONS[layer.activation].backward(grad, output.to(grad.dtype))
        lowered = grad if dtype is None else grad.to(dtype)                                 # cast once, used twice
        grads.append((weight_gradient(lowered, inputs, dtype).to(grad.dtype), grad.sum(0)))
        if index > 0 or need_input_grad:
            grad = input_gradient(lowered, weights[layer], dtype).to(grad.dtype)           # d/d(inputs)
    return grads[::-1], grad


def _bound(x, eps, beta, model, dtype) -> tuple[torch.Tensor, dict]:
    """Σ over the minibatch of L(x) for x [M, D], ε [M, Nz], with the matrix products in `dtype` (None:
    x's); returns it and what `_gradients` needs."""
    # Each weight cast to the products' dtype once, for the forward and the backward products.
    weights = {layer: layer.weight if dtype is None else layer.weight.to(dtype) for layer in _layers(model)}
    lowered = (lambda h: h) if dtype is None else (lambda h: h.to(dtype))
    encoder = [lowered(x)]                                                                    # h_0 = x
    for layer in model.encoder:
        encoder.append(linear(encoder[-1], weights[layer], layer.bias, layer.activation, dtype))
    head_layer = model.encoder_head
    head = linear(encoder[-1], weights[head_layer], head_layer.bias, dtype=dtype).to(x.dtype)  # [M, 2 Nz]
    mu, log_var = head.chunk(2, dim=1)
    sigma = torch.exp(0.5 * log_var)                                                          # σ, docs/maths.md §3
    decoder = [lowered(torch.addcmul(mu, sigma, eps))]                                      # z = μ + σ ⊙ ε
    for layer in model.decoder:
        decoder.append(linear(decoder[-1], weights[layer], layer.bias, layer.activation, dtype))
    out_layer = model.likelihood.logits
    logits = linear(decoder[-1], weights[out_layer], out_layer.bias, dtype=dtype).to(x.dtype)  # [M, D]
    reconstruction = -F.binary_cross_entropy_with_logits(logits, x, reduction="sum")        # Σ x l − softplus(l)
    kl = 0.5 * (mu.square() + sigma.square() - 1 - log_var).sum()
    saved = dict(model=model, beta=beta, dtype=dtype, weights=weights, x=x, eps=eps, mu=mu, sigma=sigma,
                 logits=logits, encoder=encoder, decoder=decoder)
    return reconstruction - beta * kl, saved


def _gradients(saved: dict, grad_output: torch.Tensor) -> list[torch.Tensor]:
    """grad_output · ∂(Σ L)/∂θ for every weight and bias, in the order of `_parameters`."""
    model, beta, dtype, weights = saved["model"], saved["beta"], saved["dtype"], saved["weights"]
    x, eps, mu, sigma, logits = (saved[name] for name in ("x", "eps", "mu", "sigma", "logits"))
    encoder, decoder = saved["encoder"], saved["decoder"]
    grad_logits = grad_output * (x - torch.sigmoid(logits))                                   # [M, D]
    out_layer = model.likelihood.logits
    (out_grads,), grad_h = _backward_through([out_layer], [decoder[-1], logits], grad_logits, True, weights, dtype)
    decoder_grads, grad_z = _backward_through(list(model.decoder), decoder, grad_h, True, weights, dtype)
    grad_mu = grad_z - grad_output * beta * mu
    grad_log_var = 0.5 * (grad_z * eps * sigma - grad_output * beta * (sigma.square() - 1))
    head_grad = torch.cat([grad_mu, grad_log_var], dim=1)                                     # [M, 2 Nz]
    (head_grads,), grad_h = _backward_through([model.encoder_head], [encoder[-1], None], head_grad,
                                              len(model.encoder) > 0, weights, dtype)
    encoder_grads, _ = (_backward_through(list(model.encoder), encoder, grad_h, False, weights, dtype)
                        if len(model.encoder) else ([], None))
    return [g for pair in (*encoder_grads, head_grads, *decoder_grads, out_grads) for g in pair]


def _parameters(model) -> list[torch.nn.Parameter]:
    return [p for layer in _layers(model) for p in (layer.weight, layer.bias)]


class _FusedBound(torch.autograd.Function):
    """Σ over the minibatch of L(x); inputs x [M, D], ε [M, Nz], β, the model, the dtype of the matrix
    products (None: x's), then every weight and bias."""

    @staticmethod
    def forward(ctx, x, eps, beta, model, dtype, *parameters):
        bound, ctx.saved = _bound(x, eps, beta, model, dtype)
        return bound

    @staticmethod
    def backward(ctx, grad_output):
        return (None, None, None, None, None, *_gradients(ctx.saved, grad_output))


def fused_bound_sum(model, x: torch.Tensor, noise: torch.Tensor, beta: float) -> torch.Tensor:
    """Σ_i L(x_i) for x [M, D] and ε [1, M, Nz], differentiable in every parameter; the matrix products
    in bfloat16 under a bfloat16 autocast."""
    return _FusedBound.apply(x, noise[0], beta, model, product_dtype(x.device), *_parameters(model))


@torch.no_grad()
def bound_and_gradients(model, x: torch.Tensor, noise: torch.Tensor, beta: float, scale: float) -> torch.Tensor:
    """Σ_i L(x_i) as `fused_bound_sum`, with every parameter's .grad set to scale · ∂(Σ L)/∂θ — what
    `(scale * fused_bound_sum(...)).backward()` leaves there, bit for bit, without building a graph."""
    bound, saved = _bound(x, noise[0], beta, model, product_dtype(x.device))
    for parameter, grad in zip(_parameters(model), _gradients(saved, torch.tensor(scale, dtype=bound.dtype))):
        parameter.grad = grad
    return bound
