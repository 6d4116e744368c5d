"""Decoder heads: hidden features h → p(x|z) as a torch.distributions object (docs/maths.md §1).

Each head is an nn.Module whose forward returns an `Independent` distribution over the D data
dimensions (a `TableDistribution` for "columns"), whose `input_width` and `encoder_input` give what the
encoder sees, whose `parameters_of` gives that distribution's parameters by name (what an exported
decoder outputs), and whose `check_support` tells the user, before training starts, when data cannot be
scored by that likelihood. New families are added to `LIKELIHOODS`.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Bernoulli, ContinuousBernoulli, Independent, Normal

from ..errors import InputError
from .architectures import ARCHITECTURES
from .discretized_logistic import LEVELS, DiscretizedLogistic
from .table import TableHead


def data_layer(in_features: int, config) -> nn.Module:
    """The decoder's features [..., F] → one parameter per data dimension [..., D], as the architecture maps them."""
    return ARCHITECTURES[config.arch].data_layer(in_features, config)


class Head(nn.Module):
    """What the heads of one value per data dimension share: the encoder sees x itself, which has no
    missing values."""

    takes_missing = False

    @staticmethod
    def input_width(config) -> int:
        return config.data_dim

    @staticmethod
    def encoder_input(x: torch.Tensor) -> torch.Tensor:
        return x

    def advice(self, x: torch.Tensor, what: str) -> str | None:
        """A sentence for data the likelihood can score but probably should not, else None."""
        return None

    def not_a_probability(self, x: torch.Tensor) -> str | None:
        """None when log p(x) is the log of a probability of x's discrete values (then bits per dimension mean
        something); else why it is not."""
        return "its log p(x) is a density of continuous values, not a probability of discrete levels"


class BernoulliHead(Head):
    """p(x|z) = Π_d Bernoulli(x_d; sigmoid(logit_d)); x binary, or grey intensities in [0, 1]
    (then log p is the cross-entropy the paper's author used for grey MNIST)."""

    def __init__(self, in_features: int, config):   # config: the model's VAEConfig
        super().__init__()
        self.logits = data_layer(in_features, config)

    def parameters_of(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """The distribution's parameters by name: {"logits": [..., D]}."""
        return {"logits": self.logits(h)}

    def forward(self, h: torch.Tensor) -> Independent:
        return Independent(Bernoulli(logits=self.parameters_of(h)["logits"], validate_args=False), 1, validate_args=False)

    def advice(self, x, what):
        if bool(((x > 0) & (x < 1)).any()):
            return (f"{what} holds values strictly between 0 and 1, which a Bernoulli likelihood scores by "
                    "cross-entropy, not as a density (its log p(x) is not comparable with other models'): binarise "
                    "them (--binarize dynamic), or choose --likelihood discretized-logistic for 8-bit pixels or "
                    "--likelihood columns for a table")
        return None

    def not_a_probability(self, x):
        if bool(((x > 0) & (x < 1)).any()):
            return ("a Bernoulli likelihood scores values between 0 and 1 by cross-entropy, not as a probability of "
                    "the data (for 8-bit pixels, train --likelihood discretized-logistic)")
        return None

    @staticmethod
    def check_support(x: torch.Tensor, what: str) -> None:
        low, high = float(x.min()), float(x.max())
        if low < 0 or high > 1:
            raise InputError(
                f"{what} has values in [{low:g}, {high:g}], outside [0, 1], which a Bernoulli likelihood "
                "cannot score: scale the data to [0, 1] or choose --likelihood gaussian"
            )


class ContinuousBernoulliHead(Head):
    """p(x|z) = Π_d CB(x_d; sigmoid(logit_d)), the continuous Bernoulli (Loaiza-Ganem & Cunningham 2019): the
    Bernoulli's form with the normaliser that makes it a density on [0, 1], for grey intensities."""

    def __init__(self, in_features: int, config):   # config: the model's VAEConfig
        super().__init__()
        self.logits = data_layer(in_features, config)

    def parameters_of(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """The distribution's parameters by name: {"logits": [..., D]}."""
        return {"logits": self.logits(h)}

    def forward(self, h: torch.Tensor) -> Independent:
        logits = self.parameters_of(h)["logits"]
        return Independent(ContinuousBernoulli(logits=logits, validate_args=False), 1, validate_args=False)

    @staticmethod
    def check_support(x: torch.Tensor, what: str) -> None:
        low, high = float(x.min()), float(x.max())
        if low < 0 or high > 1:
            raise InputError(f"{what} has values in [{low:g}, {high:g}], outside [0, 1], where the continuous "
                             "Bernoulli lives: scale the data to [0, 1] or choose --likelihood gaussian")


class DiscretizedLogisticHead(Head):
    """p(x|z) = Π_d DiscretizedLogistic(x_d; μ_d, s_d) over the 256 levels k/255 of 8-bit pixels, μ and log s
    output by the network: an exact probability, so −log₂ p(x) / D is bits per dimension."""

    def __init__(self, in_features: int, config):   # config: the model's VAEConfig
        super().__init__()
        self.loc = data_layer(in_features, config)
        self.log_scale = data_layer(in_features, config)

    def parameters_of(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """The distribution's parameters by name: {"loc": [..., D], "log_scale": [..., D]}."""
        return {"loc": self.loc(h), "log_scale": self.log_scale(h).clamp(min=-7.0)}   # s ≥ e⁻⁷: finite masses

    def forward(self, h: torch.Tensor) -> Independent:
        return Independent(DiscretizedLogistic(**self.parameters_of(h)), 1, validate_args=False)

    @staticmethod
    def check_support(x: torch.Tensor, what: str) -> None:
        levels = x * (LEVELS - 1)
        off_grid = float((levels - levels.round()).abs().max()) if x.numel() else 0.0
        low, high = float(x.min()), float(x.max())
        if low < 0 or high > 1 or off_grid > 1e-3:
            raise InputError(f"{what} holds values that are not 8-bit levels k/255 in [0, 1] (range [{low:g}, "
                             f"{high:g}]): give pixels as k/255, or choose --likelihood continuous-bernoulli or gaussian")

    def not_a_probability(self, x):
        return None                  # a probability of each of the 256 levels of an 8-bit channel


def network_log_variance(in_features: int, config) -> nn.Module:
    """log σ²(z) output by the network, one per datapoint and dimension (the paper's Frey Face model)."""
    return data_layer(in_features, config)


class LearnedLogVariance(nn.Module):
    """log σ² a free parameter per data dimension, independent of z ("calibrated decoder")."""

    def __init__(self, in_features: int, config):   # config: the model's VAEConfig
        super().__init__()
        self.log_var = nn.Parameter(torch.zeros(config.data_dim))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.log_var


class FixedLogVariance(nn.Module):
    """log σ² fixed at log(config.fixed_variance) for every dimension."""

    def __init__(self, in_features: int, config):   # config: the model's VAEConfig
        super().__init__()
        self.register_buffer("log_var", torch.full((config.data_dim,), math.log(config.fixed_variance)), persistent=False)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.log_var


GAUSSIAN_VARIANCES = {"network": network_log_variance, "learned": LearnedLogVariance, "fixed": FixedLogVariance}
GAUSSIAN_MEANS = {"sigmoid": torch.sigmoid, "linear": nn.Identity()}


class GaussianHead(Head):
    """p(x|z) = N(x; mean(h), diag σ²) with mean through a sigmoid or linear, σ² as configured."""

    def __init__(self, in_features: int, config):   # config: the model's VAEConfig
        super().__init__()
        self.loc = data_layer(in_features, config)
        self.mean = GAUSSIAN_MEANS[config.gaussian_mean]
        self.log_var = GAUSSIAN_VARIANCES[config.gaussian_variance](in_features, config)

    def parameters_of(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """The distribution's parameters by name: {"loc": [..., D], "log_var": log σ², [..., D]}."""
        loc = self.mean(self.loc(h))                                  # [..., D]
        return {"loc": loc, "log_var": self.log_var(h).expand_as(loc)}

    def forward(self, h: torch.Tensor) -> Independent:
        parameters = self.parameters_of(h)
        scale = torch.exp(0.5 * parameters["log_var"])                # σ = exp(½ log σ²), docs/maths.md §3
        return Independent(Normal(parameters["loc"], scale, validate_args=False), 1, validate_args=False)

    def check_support(self, x: torch.Tensor, what: str) -> None:
        """Every finite real value has a Gaussian density, but a sigmoid mean reaches only (0, 1)."""
        low, high = float(x.min()), float(x.max())
        if self.mean is torch.sigmoid and (low < 0 or high > 1):
            raise InputError(f"{what} has values in [{low:g}, {high:g}], which a Gaussian whose mean passes through "
                             "a sigmoid cannot reach: scale the data to [0, 1], or choose --gaussian-mean linear or "
                             "--likelihood columns")

    def advice(self, x, what):
        spread = float(x.abs().max())
        if self.mean is not torch.sigmoid and spread > 1000:
            return (f"{what} holds values up to {spread:.3g} in size, and a Gaussian likelihood works in the data's own "
                    "units, where training is slow and the bound poor: standardise the columns, or choose "
                    "--likelihood columns, which standardises inside the model")
        return None


LIKELIHOODS = {"bernoulli": BernoulliHead, "gaussian": GaussianHead, "continuous-bernoulli": ContinuousBernoulliHead,
               "discretized-logistic": DiscretizedLogisticHead, "columns": TableHead}
