"""Network architectures by name (`ARCHITECTURES`): the encoder's body (x → features), the decoder's body
(z → features), and the layer that maps the decoder's features to one parameter of p(x|z) per data
dimension (each likelihood head builds one per parameter).

- `mlp`: Dense layers of widths `hidden`, the decoder mirroring them (the paper's networks).
- `conv`: for images of `image_shape` (C, H, W), convolutions of 4×4 kernels and stride 2 with `hidden`
  channels (each halves H and W), then the heads; the decoder maps z by a Dense layer to the smallest
  feature map and doubles it back by transposed convolutions, and a 1×1 convolution per parameter gives
  [C, H, W] (the layout of the Keras and Pythae examples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..errors import InputError
from ..kernels.dense import ACTIVATIONS, Dense
from .networks import mlp, out_features


@dataclass(frozen=True)
class Architecture:
    encoder: Callable      # (input width, config) → (module x [..., in] → [..., F], F)
    decoder: Callable      # config → (module z [..., Nz] → [..., F], F)
    data_layer: Callable   # (F, config) → module [..., F] → [..., D]
    check: Callable        # config → None, or one InputError


def _mlp_encoder(input_width: int, config):
    return mlp(input_width, config.hidden, config.activation), out_features(input_width, config.hidden)


def _mlp_decoder(config):
    widths = tuple(reversed(config.hidden))
    return mlp(config.latent_dim, widths, config.activation), out_features(config.latent_dim, widths)


def _mlp_data_layer(in_features: int, config) -> nn.Module:
    return Dense(in_features, config.data_dim)


class _Images(nn.Module):
    """Applies 4-D `layers` to [..., C·H·W] rows seen as images [N, C, H, W], and flattens them back."""

    def __init__(self, layers: nn.Module, shape: tuple[int, int, int]):
        super().__init__()
        self.layers, self.shape = layers, shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        y = self.layers(x.reshape(-1, *self.shape))                       # [N, C', H', W']
        return y.reshape(*lead, -1)


class _Activation(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.name].function(x)


def _smallest_map(config) -> tuple[int, int]:
    _, height, width = config.image_shape
    factor = 2 ** len(config.hidden)
    return height // factor, width // factor


def _conv_encoder(input_width: int, config):
    channels = config.image_shape[0]
    layers = []
    for width in config.hidden:                                       # each: [N, c, h, w] → [N, width, h/2, w/2]
        layers += [nn.Conv2d(channels, width, 4, stride=2, padding=1), _Activation(config.activation)]
        channels = width
    height, width = _smallest_map(config)
    return _Images(nn.Sequential(*layers), config.image_shape), channels * height * width


class _ConvDecoder(nn.Module):
    """z [..., Nz] → Dense → [N, w_last, H/2ⁿ, W/2ⁿ] → transposed convolutions → [..., w_1·H·W]."""

    def __init__(self, config):
        super().__init__()
        height, width = _smallest_map(config)
        widths = config.hidden
        self.start = (widths[-1], height, width)
        self.dense = Dense(config.latent_dim, math.prod(self.start), config.activation)
        layers = []
        for i in reversed(range(len(widths))):                         # each doubles H and W
            layers += [nn.ConvTranspose2d(widths[i], widths[max(i - 1, 0)], 4, stride=2, padding=1),
                       _Activation(config.activation)]
        self.layers = _Images(nn.Sequential(*layers), self.start)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(self.dense(z))


def _conv_decoder(config):
    _, height, width = config.image_shape
    return _ConvDecoder(config), config.hidden[0] * height * width


def _conv_data_layer(in_features: int, config) -> nn.Module:
    """A 1×1 convolution from the decoder's w_1 feature maps to the C channels: [..., w_1·H·W] → [..., C·H·W]."""
    channels, height, width = config.image_shape
    return _Images(nn.Conv2d(in_features // (height * width), channels, 1), (in_features // (height * width),
                                                                             height, width))


def _check_mlp(config) -> None:
    """Any widths fit a multilayer perceptron."""


def _check_conv(config) -> None:
    shape = config.image_shape
    if len(shape) != 3 or math.prod(shape) != config.data_dim:
        raise InputError(f"arch='conv' needs image_shape (C, H, W) with C·H·W = data_dim={config.data_dim}, "
                         f"not {tuple(shape)}: train on images")
    if not config.hidden:
        raise InputError("arch='conv' needs at least one convolution: give hidden channel widths, e.g. 32,64")
    factor = 2 ** len(config.hidden)
    if shape[1] % factor or shape[2] % factor:
        raise InputError(f"images of {shape[1]}×{shape[2]} do not halve {len(config.hidden)} times (hidden="
                         f"{config.hidden}): use fewer convolutions, or images whose sides divide by {factor}")
    if config.likelihood == "columns":
        raise InputError("arch='conv' is for images; a table takes arch='mlp'")


ARCHITECTURES = {
    "mlp": Architecture(_mlp_encoder, _mlp_decoder, _mlp_data_layer, _check_mlp),
    "conv": Architecture(_conv_encoder, _conv_decoder, _conv_data_layer, _check_conv),
}
