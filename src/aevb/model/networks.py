"""Multilayer perceptrons of Dense layers, and the two initialisations of the weights."""

from __future__ import annotations

from torch import nn

from ..kernels.dense import Dense


def mlp(in_features: int, widths: tuple[int, ...], activation: str) -> nn.Sequential:
    """One Dense layer (linear map, then `activation`) per width. No widths gives the identity (a
    linear model then consists of the output head alone)."""
    layers = []
    for width in widths:
        layers.append(Dense(in_features, width, activation))
        in_features = width
    return nn.Sequential(*layers)


def out_features(in_features: int, widths: tuple[int, ...]) -> int:
    return widths[-1] if widths else in_features


def paper_init(module: nn.Module) -> None:
    """The paper's initialisation: every weight ~ N(0, 0.01²), every bias 0 (docs/maths.md §1)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, mean=0.0, std=0.01)
            nn.init.zeros_(layer.bias)


def default_init(module: nn.Module) -> None:
    """Keep PyTorch's own initialisation of nn.Linear (uniform, scaled by fan-in)."""


INITIALISATIONS = {"default": default_init, "paper": paper_init}
