"""Dense layers — activation(x Wᵀ + b) — computed by oneDNN on the CPU.

`torch.ops.mkldnn._linear_pointwise` is oneDNN's fp32 linear with the activation fused into it (the
kernel torch.compile uses for CPU linears). On this project's AVX-512 machine it runs about twice as
fast as the MKL `addmm` that `nn.Linear` calls, at fp32 accuracy. `Dense` is an `nn.Linear` (same
parameters, same state_dict) with an activation, whose forward and backward use it for CPU float32
inputs, and plain PyTorch everywhere else (GPUs, float64, a build without the operator).

Under `torch.autocast` (training's `precision="bf16"`) a layer's product runs in the autocast dtype,
and on oneDNN its activation too (on the float32 accumulator, before the result is rounded); the layer
returns its input's dtype, so that everything outside the layers — log-likelihoods, the KL, their sums
over hundreds of pixels — keeps full precision.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# name → (the function, the gradient through it from its output y: (grad_y, y) → grad_a, whether oneDNN
# fuses it); the backward kernels are PyTorch's own one-pass ones (tanh: g·(1 − y²), σ: g·y(1 − y)).
ACTIVATIONS = {
    "none": (lambda a: a, None, True),
    "tanh": (torch.tanh, torch.ops.aten.tanh_backward, True),
    "sigmoid": (torch.sigmoid, torch.ops.aten.sigmoid_backward, True),
    "relu": (torch.relu, lambda grad, y: torch.ops.aten.threshold_backward(grad, y, 0), True),
    "softplus": (F.softplus, None, False),
    "elu": (F.elu, None, False),
    "gelu": (F.gelu, None, False),
}


def onednn_available() -> bool:
    return hasattr(torch.ops.mkldnn, "_linear_pointwise") and torch.backends.mkldnn.is_available()


ONEDNN = onednn_available()


def product_dtype(device: torch.device) -> torch.dtype | None:
    """The dtype of matrix products under an enabled `torch.autocast` on `device`, else None."""
    return torch.get_autocast_dtype(device.type) if torch.is_autocast_enabled(device.type) else None


def onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                  activation: str = "none", dtype: torch.dtype | None = None) -> torch.Tensor:
    """activation(x Wᵀ + b) for x [S, in], W [out, in] (any strides) → [S, out]; activation fusable.
    With `dtype` (bfloat16) the inputs are cast to it and the result is in it."""
    if dtype is not None:
        x, weight, bias = x.to(dtype), weight.to(dtype), None if bias is None else bias.to(dtype)
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, activation, [], "")


SMALL = 100_000   # weights with fewer entries than this: MKL's mm is faster than oneDNN (measured here)


def _mm(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    return torch.mm(a, b) if dtype is None else torch.mm(a.to(dtype), b.to(dtype))


def weight_gradient(grad: torch.Tensor, inputs: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """dL/dW = gradᵀ inputs for grad [S, out], inputs [S, in] → [out, in] (computed and returned in `dtype`)."""
    if grad.shape[1] * inputs.shape[1] < SMALL:
        return _mm(grad.t(), inputs, dtype)
    return onednn_linear(grad.t(), inputs.t(), None, dtype=dtype)


def input_gradient(grad: torch.Tensor, weight: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """dL/dx = grad W for grad [S, out], W [out, in] → [S, in] (computed and returned in `dtype`)."""
    if weight.numel() < SMALL:
        return _mm(grad, weight, dtype)
    return onednn_linear(grad, weight.t(), None, dtype=dtype)


class _DenseFunction(torch.autograd.Function):
    """y = act(x Wᵀ + b) with both products of the backward pass in oneDNN too, all three in `dtype`;
    y and the gradients in the dtypes of x and W."""

    @staticmethod
    def forward(ctx, x, weight, bias, activation, dtype):
        y = onednn_linear(x, weight, bias, activation, dtype).to(x.dtype)
        ctx.activation, ctx.dtype = activation, dtype
        ctx.save_for_backward(x, weight, y)
        return y

    @staticmethod
    def backward(ctx, grad_y):                                                   # [S, out]
        x, weight, y = ctx.saved_tensors
        backward = ACTIVATIONS[ctx.activation][1]
        grad_a = grad_y if backward is None else backward(grad_y, y)          # through the activation
        grad_x = input_gradient(grad_a, weight, ctx.dtype).to(x.dtype) if ctx.needs_input_grad[0] else None
        return grad_x, weight_gradient(grad_a, x, ctx.dtype).to(weight.dtype), grad_a.sum(0), None, None


class Dense(nn.Linear):
    """activation(x Wᵀ + b) for x [..., in] → [..., out]; an nn.Linear with an activation."""

    def __init__(self, in_features: int, out_features: int, activation: str = "none"):
        super().__init__(in_features, out_features)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        function, _, fusable = ACTIVATIONS[self.activation]
        lowered = product_dtype(x.device)
        if ONEDNN and fusable and x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() >= 2:
            rows = _DenseFunction.apply(x.reshape(-1, x.shape[-1]), self.weight, self.bias, self.activation, lowered)
            return rows.view(*x.shape[:-1], rows.shape[-1])
        if lowered is not None:       # autocast computes F.linear in its dtype; the rest stays in x's
            return function(F.linear(x, self.weight, self.bias).to(x.dtype))
        return function(F.linear(x, self.weight, self.bias))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.activation}"
