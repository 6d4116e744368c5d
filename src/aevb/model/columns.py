"""Column types of a table: the likelihood of one kind of column, each a class in `COLUMN_TYPES`.

A table is a float tensor [N, C] whose cell (n, c) holds a number, a 0/1 answer, or the code 0..K−1 of a
category; NaN marks a missing cell. Every column has a spec, a JSON dict saved in the model's config:
{"name", "type", ...} plus what `fit` measured on the training rows (standardising constants, the
levels of a category). A column type handles all the columns of its kind at once (`ColumnGroup`, one
vectorised pass whatever the number of columns) and gives, per cell (docs/maths.md §7):

    real         N(y; μ, σ²) on y = (x − shift) / scale, σ² learned per column;   log p(x) = log N − log scale
    positive     the same on y = (log x − shift) / scale (log-normal);              log p(x) = log N − log scale − log x
    count        Poisson(x; λ), log λ = network output + log of the column's mean
    binary       Bernoulli(x; sigmoid(logit)), logit = network output + logit of the column's mean
    categorical  Categorical(x; softmax(logits)), logits = network outputs + log of each level's frequency

The shifts and offsets are constants of the data (not trained), so that a freshly initialised network
already predicts each column's typical value, and every output comes back in the column's own units.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError


def _observed(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def _standardising(values: np.ndarray) -> dict:
    """shift and scale that map the observed values to mean 0 and standard deviation 1 (scale 1 for a
    constant column)."""
    std = float(np.std(values))
    return {"shift": float(np.mean(values)), "scale": std if std > 0 else 1.0}


def _skewness(values: np.ndarray) -> float:
    centred = values - values.mean()
    spread = float(np.sqrt(np.mean(centred ** 2)))
    return float(np.mean(centred ** 3)) / spread ** 3 if spread > 0 else 0.0


class ColumnGroup(nn.Module):
    """All the columns of one type. Shapes: x [..., n] for the group's n columns (missing cells hold a
    valid placeholder and `observed` says which are real), out [..., output_width] from the decoder."""

    type_name: str

    def __init__(self, specs: list[dict]):
        super().__init__()
        self.n = len(specs)
        self.names = [spec["name"] for spec in specs]

    @staticmethod
    def suits(values: np.ndarray) -> bool:
        """Whether the observed values of a numeric column look like this type (used to choose types)."""
        raise NotImplementedError

    @staticmethod
    def fit(values: np.ndarray) -> dict:
        """The spec's constants measured on a column's observed training values."""
        raise NotImplementedError

    input_width = property(lambda self: self.n)
    output_width = property(lambda self: self.n)
    support = ""        # the values a column of the type holds, and what to do when it holds others
    fix = ""

    @staticmethod
    def placeholder(spec: dict) -> float:
        """A value the column can score, put in its missing cells (whose log-probabilities are then dropped)."""
        return 0.0

    @staticmethod
    def outside(x: torch.Tensor) -> torch.Tensor:
        """Which observed values [N, n] are outside the type's support: [N, n] bool."""
        return torch.zeros_like(x, dtype=torch.bool)

    def inputs(self, x: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """What the encoder sees: [..., input_width], zero for missing cells."""
        raise NotImplementedError

    def cell_log_prob(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x_c | z) per cell: [..., n]."""
        raise NotImplementedError

    def point(self, out: torch.Tensor) -> torch.Tensor:
        """E[x|z] for numbers, the most probable value for binary and categorical columns: [..., n]."""
        raise NotImplementedError

    def sample(self, out: torch.Tensor) -> torch.Tensor:
        """x ~ p(x|z): [..., n]."""
        raise NotImplementedError

    def weighted_point(self, out: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Σ_j w_j E[x|z_j] for out [k, ..., width] and normalised weights [k, ...] (the most probable value
        of Σ_j w_j p(x|z_j) for binary and categorical columns): [..., n]."""
        return (weights[..., None] * self.point(out)).sum(0)

    def check(self, x: torch.Tensor, what: str) -> None:
        """One clear error for the first observed value of x [N, n] outside this type's support."""
        refuse_outside(self.outside(x), x, self.names, self.type_name, self.support, self.fix, what)


class _GaussianColumns(ColumnGroup):
    """Columns whose transform y = t(x) is standardised and Gaussian: shared by `real` and `positive`."""

    def __init__(self, specs: list[dict]):
        super().__init__(specs)
        self.register_buffer("shift", torch.tensor([s["shift"] for s in specs]), persistent=False)
        self.register_buffer("scale", torch.tensor([s["scale"] for s in specs]), persistent=False)
        self.log_var = nn.Parameter(torch.zeros(self.n))                    # log σ² per column, of y

    def inputs(self, x, observed):
        return torch.where(observed, (self.transform(x) - self.shift) / self.scale, 0.0)

    def cell_log_prob(self, out, x):
        y = (self.transform(x) - self.shift) / self.scale
        log_normal = -0.5 * ((y - out).square() * torch.exp(-self.log_var) + self.log_var + math.log(2 * math.pi))
        return log_normal - torch.log(self.scale) - self.log_jacobian(x)

    def sample(self, out):
        y = out + torch.exp(0.5 * self.log_var) * torch.randn_like(out)
        return self.untransform(self.shift + self.scale * y)


class RealColumns(_GaussianColumns):
    type_name = "real"

    @staticmethod
    def suits(values):
        return True

    fit = staticmethod(_standardising)

    @staticmethod
    def placeholder(spec):
        return spec["shift"]

    transform = untransform = staticmethod(lambda x: x)
    log_jacobian = staticmethod(lambda x: 0.0)

    def point(self, out):
        return self.shift + self.scale * out


class PositiveColumns(_GaussianColumns):
    type_name = "positive"
    support = "a positive column holds values > 0"
    fix = "choose the type real for it"
    placeholder = staticmethod(lambda spec: 1.0)
    outside = staticmethod(lambda x: x <= 0)

    @staticmethod
    def suits(values):
        """Positive values whose logarithm is more symmetric than they are (right-skewed, as incomes)."""
        return bool(values.min() > 0) and _skewness(values) > 1 and abs(_skewness(np.log(values))) < _skewness(values)

    @staticmethod
    def fit(values):
        return _standardising(np.log(values))

    transform = log_jacobian = staticmethod(torch.log)
    untransform = staticmethod(torch.exp)

    def point(self, out):
        """E[x] = exp(m + s²/2) for log x ~ N(m, s²), m = shift + scale μ, s = scale σ."""
        return torch.exp(self.shift + self.scale * out + 0.5 * self.scale.square() * torch.exp(self.log_var))


class CountColumns(ColumnGroup):
    type_name = "count"
    support = "a count column holds whole numbers ≥ 0"
    fix = "choose the type real for it"
    outside = staticmethod(lambda x: (x < 0) | (x != torch.round(x)))

    def __init__(self, specs):
        super().__init__(specs)
        self.register_buffer("shift", torch.tensor([s["shift"] for s in specs]), persistent=False)
        self.register_buffer("scale", torch.tensor([s["scale"] for s in specs]), persistent=False)
        self.register_buffer("log_mean", torch.tensor([s["log_mean"] for s in specs]), persistent=False)

    @staticmethod
    def suits(values):
        return bool(values.min() >= 0) and bool(np.all(values == np.round(values))) and bool(values.max() > 1)

    @staticmethod
    def fit(values):
        return {**_standardising(np.log1p(values)), "log_mean": math.log(max(float(values.mean()), 1e-3))}

    def inputs(self, x, observed):
        return torch.where(observed, (torch.log1p(x) - self.shift) / self.scale, 0.0)

    def _log_rate(self, out):
        return (out + self.log_mean).clamp(max=40.0)                       # λ < e^40: no overflow to inf

    def cell_log_prob(self, out, x):
        log_rate = self._log_rate(out)
        return x * log_rate - torch.exp(log_rate) - torch.lgamma(x + 1)

    def point(self, out):
        return torch.exp(self._log_rate(out))

    def sample(self, out):
        return torch.poisson(self.point(out))


class BinaryColumns(ColumnGroup):
    type_name = "binary"
    support = "a binary column holds 0 or 1"
    fix = "choose the type real or count for it"
    outside = staticmethod(lambda x: (x != 0) & (x != 1))

    def __init__(self, specs):
        super().__init__(specs)
        self.register_buffer("logit_offset", torch.tensor([s["logit"] for s in specs]), persistent=False)

    @staticmethod
    def suits(values):
        return bool(np.isin(values, (0.0, 1.0)).all())

    @staticmethod
    def fit(values):
        p = min(max(float(values.mean()), 1e-3), 1 - 1e-3)
        return {"logit": math.log(p / (1 - p))}

    def inputs(self, x, observed):
        return torch.where(observed, 2 * x - 1, 0.0)                        # ±1, 0 for a missing answer

    def cell_log_prob(self, out, x):
        logits = out + self.logit_offset
        return x * logits - F.softplus(logits)                     # log Bernoulli(x; sigmoid(logits)), broadcast

    def point(self, out):
        return (out + self.logit_offset > 0).to(out.dtype)

    def sample(self, out):
        return torch.bernoulli(torch.sigmoid(out + self.logit_offset))

    def weighted_point(self, out, weights):
        return ((weights[..., None] * torch.sigmoid(out + self.logit_offset)).sum(0) > 0.5).to(out.dtype)


class CategoricalColumns(ColumnGroup):
    """Columns of K_c levels each; a cell holds the code 0..K_c−1 of its level (the spec keeps the labels).
    The decoder's outputs for all columns [..., Σ K_c] are laid out as [..., n, K_max], padded with −∞."""

    type_name = "categorical"
    support = "a categorical column holds the code 0..K−1 of one of its K levels"
    fix = "use only the levels the model was trained on"

    def __init__(self, specs):
        super().__init__(specs)
        self.levels = [list(s["levels"]) for s in specs]
        sizes = [len(levels) for levels in self.levels]
        width = max(sizes)
        valid = torch.arange(width)[None, :] < torch.tensor(sizes)[:, None]             # [n, K_max]
        offsets = torch.full((self.n, width), -math.inf)
        offsets[valid] = torch.tensor([f for s in specs for f in s["log_frequency"]])
        self.register_buffer("valid", valid, persistent=False)
        self.register_buffer("offsets", offsets, persistent=False)                     # −∞ where padded
        self.register_buffer("sizes", torch.tensor(sizes, dtype=torch.float32), persistent=False)
        self.register_buffer("positions", valid.reshape(-1).nonzero().squeeze(1), persistent=False)  # [Σ K_c]
        self.width = width
        self.total = sum(sizes)

    @staticmethod
    def suits(values):
        return False                                         # chosen for text columns, or by the user

    @staticmethod
    def fit(values, levels=None):
        """values: codes; levels: their labels (the codes' own values, as text, when not given)."""
        if levels is None:
            codes = np.unique(values)
            levels = [f"{c:g}" for c in codes]
        counts = np.bincount(values.astype(int), minlength=len(levels)) + 1.0   # +1: unseen levels stay possible
        return {"levels": list(levels), "log_frequency": np.log(counts / counts.sum()).tolist()}

    input_width = property(lambda self: self.total)
    output_width = property(lambda self: self.total)

    def _log_probs(self, out):
        """log p(level | z): [..., n, K_max], −∞ beyond a column's levels."""
        flat = out.new_zeros((*out.shape[:-1], self.n * self.width))
        padded = flat.index_copy(-1, self.positions, out).unflatten(-1, (self.n, self.width))
        return torch.log_softmax(padded + self.offsets, dim=-1)

    def inputs(self, x, observed):
        one_hot = F.one_hot(x.long(), self.width).to(x.dtype) * observed[..., None]    # [..., n, K_max]
        return one_hot[..., self.valid]                                                # [..., Σ K_c]

    def cell_log_prob(self, out, x):
        log_probs = self._log_probs(out)                                                 # [..., n, K_max]
        codes = x.long()
        shape = torch.broadcast_shapes(codes.shape, log_probs.shape[:-1])
        return log_probs.expand(*shape, self.width).gather(-1, codes.expand(shape)[..., None]).squeeze(-1)

    def point(self, out):
        return self._log_probs(out).argmax(-1).to(out.dtype)

    def sample(self, out):
        return torch.distributions.Categorical(logits=self._log_probs(out), validate_args=False).sample().to(out.dtype)

    def weighted_point(self, out, weights):
        return (weights[..., None, None] * self._log_probs(out).exp()).sum(0).argmax(-1).to(out.dtype)

    def outside(self, x):
        return (x < 0) | (x >= self.sizes) | (x != torch.round(x))


def refuse_outside(bad: torch.Tensor, x: torch.Tensor, names: list[str], type_name: str, support: str, fix: str,
                   what: str) -> None:
    """Raise one InputError for the first cell flagged in `bad` [N, n] (x [N, n] its values)."""
    if bool(bad.any()):
        row, column = (int(i) for i in bad.nonzero()[0])
        raise InputError(f"{what}: column {names[column]!r} ({type_name}) holds {float(x[row, column]):g} in row {row}, "
                         f"but {support}: {fix}")


COLUMN_TYPES = {group.type_name: group for group in (RealColumns, PositiveColumns, CountColumns, BinaryColumns,
                                                     CategoricalColumns)}
INFERRED_ORDER = ("binary", "count", "positive", "real")   # the first type that suits a numeric column


def infer_type(values: np.ndarray) -> str:
    """The column type for a numeric column's values [N] (NaN missing): binary, count, positive or real."""
    observed = _observed(values)
    if len(observed) == 0:
        return "real"
    return next(name for name in INFERRED_ORDER if COLUMN_TYPES[name].suits(observed))


def column_spec(name: str, type_name: str, values: np.ndarray, levels=None) -> dict:
    """The spec of a column from its training values [N] (codes for a categorical column, NaN missing)."""
    if type_name not in COLUMN_TYPES:
        raise InputError(f"column {name!r}: type {type_name!r} is not one of {sorted(COLUMN_TYPES)}")
    observed = _observed(values)
    if len(observed) == 0:
        raise InputError(f"column {name!r} has no observed value: drop it")
    group = COLUMN_TYPES[type_name]
    if type_name == "categorical":
        return {"name": name, "type": type_name, **group.fit(observed, levels)}
    column = torch.from_numpy(observed[:, None])                    # a user's choice of type is checked here
    refuse_outside(group.outside(column), column, [name], type_name, group.support, group.fix, "the data")
    return {"name": name, "type": type_name, **group.fit(observed)}
