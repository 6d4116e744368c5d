"""The flat configuration of a VAE, saved beside its weights: a checkpoint describes itself."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..errors import InputError, check_choice
from ..kernels.dense import ACTIVATIONS
from .architectures import ARCHITECTURES
from .columns import COLUMN_TYPES
from .likelihoods import GAUSSIAN_MEANS, GAUSSIAN_VARIANCES, LIKELIHOODS
from .networks import INITIALISATIONS


@dataclass(frozen=True)
class VAEConfig:
    """Everything needed to rebuild a `aevb.VAE` without the code that trained it.

    data_dim:          D, features per datapoint (784 for MNIST).
    latent_dim:        Nz, dimension of z (docs/maths.md §1).
    hidden:            widths of the hidden layers of the encoder; the decoder mirrors them.
                       `()` gives linear maps (the linear-Gaussian model of docs/maths.md §6).
    activation:        nonlinearity of every hidden layer (the paper: tanh).
    likelihood:        family of p(x|z): "bernoulli", "gaussian", or "columns" (a table: one type per column).
    gaussian_mean:     "sigmoid" (the paper's Frey Face model) or "linear" head for the Gaussian mean.
    gaussian_variance: "network" (output per datapoint, the paper), "learned" (a parameter per
                       dimension, independent of z) or "fixed" (`fixed_variance`).
    fixed_variance:    σ² of every dimension when gaussian_variance == "fixed".
    init:              "default" (PyTorch's) or "paper" (weights ~ N(0, 0.01²), biases 0, the
                       encoder's log-variance head 0).
    arch:              "mlp" (Dense layers of widths `hidden`) or "conv" (convolutions with `hidden` channels,
                       for images of `image_shape`; model/architectures.py).
    image_shape:       (C, H, W) of the images, for arch "conv" (otherwise unused).
    columns:           for likelihood "columns", one spec per column (aevb.model.columns): its name, its
                       type and the constants measured on the training data.
    """

    data_dim: int
    latent_dim: int = 20
    hidden: tuple[int, ...] = (500,)
    activation: str = "tanh"
    likelihood: str = "bernoulli"
    gaussian_mean: str = "sigmoid"
    gaussian_variance: str = "network"
    fixed_variance: float = 1.0
    init: str = "default"
    columns: tuple[dict, ...] = ()
    arch: str = "mlp"
    image_shape: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        for name in ("data_dim", "latent_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name}={value!r} must be a positive integer")
        if any(h < 1 for h in self.hidden):
            raise InputError(f"hidden={self.hidden!r}: every layer width must be a positive integer")
        if not 0 < self.fixed_variance < math.inf:
            raise InputError(f"fixed_variance={self.fixed_variance!r} must be a finite number > 0 (σ² of every dimension)")
        # Names are checked against the registries that use them, so that a new entry needs no edit here.
        for name, registry in (
            ("activation", ACTIVATIONS),
            ("likelihood", LIKELIHOODS),
            ("gaussian_mean", GAUSSIAN_MEANS),
            ("gaussian_variance", GAUSSIAN_VARIANCES),
            ("init", INITIALISATIONS),
            ("arch", ARCHITECTURES),
        ):
            check_choice(name, getattr(self, name), registry)
        object.__setattr__(self, "columns", tuple(dict(spec) for spec in self.columns))
        if (self.likelihood == "columns") != bool(self.columns) or (self.columns and len(self.columns) != self.data_dim):
            raise InputError(f"likelihood={self.likelihood!r} with {len(self.columns)} column specs for data_dim="
                             f"{self.data_dim}: likelihood 'columns' takes one spec per column, other likelihoods none")
        for spec in self.columns:
            check_choice("column type", spec.get("type"), COLUMN_TYPES)
        ARCHITECTURES[self.arch].check(self)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "hidden": list(self.hidden), "columns": list(self.columns),
                "image_shape": list(self.image_shape)}

    @classmethod
    def from_dict(cls, values: dict) -> "VAEConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown model configuration keys {unknown}; known keys: {sorted(known)}")
        return cls(**values)
