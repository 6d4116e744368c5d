"""Dense layers — activation(x Wᵀ + b) — and the matrix-product kernels they run on the CPU.

Two kernels compute a float32 layer on the CPU: oneDNN's linear with the activation fused into it
(`torch.ops.mkldnn._linear_pointwise`, the kernel torch.compile uses for CPU linears) and MKL's GEMM
(`addmm`, what `nn.Linear` calls). Which is faster depends on the CPU, so each product goes to the faster
one, chosen by the instruction set PyTorch dispatches to (`torch.backends.cpu.get_cpu_capability()`):

- AVX-512: oneDNN, about twice as fast as MKL at the paper's MNIST shapes (measured on an AMD EPYC with
  AVX-512);
- AVX2 and anything else: MKL, about 1.3× faster than oneDNN there (measured on an AMD EPYC, Zen 3).

`Dense` is an `nn.Linear` (same parameters, same state_dict) with an activation, whose forward and
backward use these kernels for CPU float32 inputs, and plain PyTorch everywhere else (GPUs, float64,
and while a graph is being traced or exported).

Under `torch.autocast` (training's `precision="bf16"`) a layer's product runs in the autocast dtype,
and its activation too (on oneDNN, on the float32 accumulator before the result is rounded); the layer
returns its input's dtype, so that everything outside the layers — log-likelihoods, the KL, their sums
over hundreds of pixels — keeps full precision. oneDNN has bfloat16 kernels only on CPUs with
AVX512_BF16 or AMX (`ONEDNN_BF16`); elsewhere PyTorch emulates bfloat16 products, slower than float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Activation:
    """A layer's nonlinearity. `fused` activations run inside this module's kernels (oneDNN applies them
    within the product) and have `backward`, the gradient through them from their output y,
    (grad_y, y) → grad_a, by PyTorch's one-pass kernels (tanh: g·(1 − y²), σ: g·y(1 − y)); the others
    run as plain PyTorch under autograd."""

    function: Callable[[torch.Tensor], torch.Tensor]
    backward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None
    fused: bool


ACTIVATIONS = {
    "none": Activation(lambda a: a, lambda grad, y: grad, True),
    "tanh": Activation(torch.tanh, torch.ops.aten.tanh_backward, True),
    "sigmoid": Activation(torch.sigmoid, torch.ops.aten.sigmoid_backward, True),
    "relu": Activation(torch.relu, lambda grad, y: torch.ops.aten.threshold_backward(grad, y, 0), True),
    "softplus": Activation(F.softplus, None, False),
    "elu": Activation(F.elu, None, False),
    "gelu": Activation(F.gelu, None, False),
}


ONEDNN = hasattr(torch.ops.mkldnn, "_linear_pointwise") and torch.backends.mkldnn.is_available()
ONEDNN_FP32 = ONEDNN and torch.backends.cpu.get_cpu_capability() == "AVX512"   # float32 products to oneDNN
ONEDNN_BF16 = ONEDNN and torch.ops.mkldnn._is_mkldnn_bf16_supported()         # native bfloat16 products


def product_dtype(device: torch.device) -> torch.dtype | None:
    """The dtype of matrix products under an enabled `torch.autocast` on `device`, else None (also on
    devices that have no autocast, such as "meta")."""
    if not (torch.amp.is_autocast_available(device.type) and torch.is_autocast_enabled(device.type)):
        return None
    return torch.get_autocast_dtype(device.type)


def _onednn_for(x: torch.Tensor, dtype: torch.dtype | None) -> bool:
    """Whether products of x in `dtype` (None: x's) go to oneDNN: CPU float32 or bfloat16 where faster."""
    if x.device.type != "cpu":
        return False
    return ONEDNN_FP32 and x.dtype == torch.float32 if dtype is None else ONEDNN_BF16 and dtype == torch.bfloat16


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
           activation: str = "none", dtype: torch.dtype | None = None) -> torch.Tensor:
    """activation(x Wᵀ + b) for x [S, in], W [out, in] (any strides) → [S, out], on the CPU by its faster
    kernel. With `dtype` (bfloat16) the inputs are cast to it and the result is in it."""
    onednn = _onednn_for(x, dtype)
    if dtype is not None:
        x, weight, bias = x.to(dtype), weight.to(dtype), None if bias is None else bias.to(dtype)
    if onednn:
        return torch.ops.mkldnn._linear_pointwise(x, weight, bias, activation, [], "")
    product = torch.mm(x, weight.t()) if bias is None else torch.addmm(bias, x, weight.t())
    return ACTIVATIONS[activation].function(product)


SMALL = 100_000   # weights with fewer entries than this: MKL's mm even where oneDNN is faster for large ones


def _mm(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    return torch.mm(a, b) if dtype is None else torch.mm(a.to(dtype), b.to(dtype))


def weight_gradient(grad: torch.Tensor, inputs: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """dL/dW = gradᵀ inputs for grad [S, out], inputs [S, in] → [out, in] (computed and returned in `dtype`)."""
    if grad.shape[1] * inputs.shape[1] < SMALL:
        return _mm(grad.t(), inputs, dtype)
    return linear(grad.t(), inputs.t(), None, dtype=dtype)


def input_gradient(grad: torch.Tensor, weight: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """dL/dx = grad W for grad [S, out], W [out, in] → [S, in] (computed and returned in `dtype`)."""
    if weight.numel() < SMALL:
        return _mm(grad, weight, dtype)
    return linear(grad, weight.t(), None, dtype=dtype)


class _DenseFunction(torch.autograd.Function):
    """y = act(x Wᵀ + b) with the products of the backward pass on the same kernels, all three in `dtype`;
    y and the gradients in the dtypes of x and W."""

    @staticmethod
    def forward(ctx, x, weight, bias, activation, dtype):
        y = linear(x, weight, bias, activation, dtype).to(x.dtype)
        ctx.activation, ctx.dtype = activation, dtype
        ctx.save_for_backward(x, weight, y)
        return y

    @staticmethod
    def backward(ctx, grad_y):                                                   # [S, out]
        x, weight, y = ctx.saved_tensors
        backward = ACTIVATIONS[ctx.activation].backward
        grad_a = backward(grad_y, y)                                            # through the activation
        grad_x = input_gradient(grad_a, weight, ctx.dtype).to(x.dtype) if ctx.needs_input_grad[0] else None
        return grad_x, weight_gradient(grad_a, x, ctx.dtype).to(weight.dtype), grad_a.sum(0), None, None


def _tracing() -> bool:
    """Whether the layer is being recorded as a graph (torch.jit.trace, torch.export, ONNX export): then
    it takes the plain path, which every exporter reads."""
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


class Dense(nn.Linear):
    """activation(x Wᵀ + b) for x [..., in] → [..., out]; an nn.Linear with an activation."""

    def __init__(self, in_features: int, out_features: int, activation: str = "none"):
        super().__init__(in_features, out_features)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activation = ACTIVATIONS[self.activation]
        lowered = product_dtype(x.device)
        if (activation.fused and x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() >= 2
                and (lowered is None or ONEDNN_BF16) and not _tracing()):
            rows = _DenseFunction.apply(x.reshape(-1, x.shape[-1]), self.weight, self.bias, self.activation, lowered)
            return rows.view(*x.shape[:-1], rows.shape[-1])
        # Autocast computes F.linear in its dtype, the activation follows in it; the rest stays in x's.
        return activation.function(F.linear(x, self.weight, self.bias)).to(x.dtype)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={self.activation}"
