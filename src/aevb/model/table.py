"""The decoder head of a table: a likelihood per column (`columns.COLUMN_TYPES`), missing cells left out.

log p(x_observed | z) = Σ_{c observed} log p_c(x_c | z)   (docs/maths.md §7)

The encoder of such a model sees every column's input (standardised numbers, ±1 answers, one-hot levels;
zero for a missing cell) followed by the mask of observed cells [C] (MIWAE, Mattei & Frellsen 2019).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError
from ..kernels.dense import Dense
from .columns import COLUMN_TYPES


def column_groups(columns) -> list[tuple[str, list[int]]]:
    """(type, the positions of its columns) for every type present, in the registry's order."""
    groups = []
    for name in COLUMN_TYPES:
        positions = [i for i, spec in enumerate(columns) if spec["type"] == name]
        if positions:
            groups.append((name, positions))
    return groups


class TableDistribution:
    """p(x|z) for a table: `log_prob` sums the observed cells' log-probabilities; x [..., C] with NaN
    for missing cells broadcasts against the batch shape of z."""

    def __init__(self, head: "TableHead", out: torch.Tensor):   # out [..., output width]
        self.head = head
        self.parts = out.split(head.output_widths, dim=-1)

    def _per_column(self, values: list[torch.Tensor]) -> torch.Tensor:
        """The groups' [..., n_g] results put back in column order: [..., C]."""
        return torch.cat(values, -1)[..., self.head.column_order]

    def cell_log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x_c | z) per cell, 0 for a missing cell: [..., C]."""
        observed = ~torch.isnan(x)
        safe = torch.where(observed, x, self.head.placeholders)       # a missing cell must not make NaN gradients
        cells = self._per_column([group.cell_log_prob(out, safe[..., positions]) for group, out, positions
                                  in zip(self.head.groups, self.parts, self.head.positions)])
        return torch.where(observed, cells, 0.0)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x_observed | z): [...]."""
        return self.cell_log_prob(x).sum(-1)

    @property
    def mean(self) -> torch.Tensor:
        """E[x|z] for numeric columns, the most probable value (code) for binary and categorical ones: [..., C]."""
        return self._per_column([group.point(out) for group, out in zip(self.head.groups, self.parts)])

    def sample(self) -> torch.Tensor:
        """x ~ p(x|z): [..., C]."""
        return self._per_column([group.sample(out) for group, out in zip(self.head.groups, self.parts)])

    def weighted_point(self, weights: torch.Tensor) -> torch.Tensor:
        """Σ_j w_j E[x|z_j] (the most probable value of the mixture for binary and categorical columns) for this
        distribution over z [k, B, Nz] and normalised weights [k, B]: [B, C]."""
        return self._per_column([group.weighted_point(out, weights) for group, out in zip(self.head.groups, self.parts)])


DISCRETE_TYPES = {"binary", "categorical", "count"}   # column types whose log p is of a probability mass


class TableHead(nn.Module):
    """p(x|z) = Π_c p_c(x_c|z) over the columns described by config.columns; NaN marks a missing cell."""

    takes_missing = True

    def __init__(self, in_features: int, config):   # config: the model's VAEConfig
        super().__init__()
        columns = config.columns
        self.positions = [positions for _, positions in column_groups(columns)]
        self.groups = nn.ModuleList(COLUMN_TYPES[name]([columns[i] for i in positions])
                                    for name, positions in column_groups(columns))
        self.output_widths = [group.output_width for group in self.groups]
        self.out = Dense(in_features, sum(self.output_widths))
        order = torch.tensor([i for positions in self.positions for i in positions])
        self.register_buffer("column_order", torch.argsort(order), persistent=False)     # group order → column order
        self.register_buffer("placeholders", torch.tensor([COLUMN_TYPES[spec["type"]].placeholder(spec)
                                                           for spec in columns]), persistent=False)

    @staticmethod
    def input_width(config) -> int:
        """The encoder's input width: every group's inputs and the mask [C]."""
        return sum(COLUMN_TYPES[name]([config.columns[i] for i in positions]).input_width
                   for name, positions in column_groups(config.columns)) + len(config.columns)

    def encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """x [..., C] (NaN missing) → [..., input width]: the groups' inputs, then the mask of observed cells."""
        observed = ~torch.isnan(x)
        safe = torch.where(observed, x, self.placeholders)
        inputs = [group.inputs(safe[..., positions], observed[..., positions])
                  for group, positions in zip(self.groups, self.positions)]
        return torch.cat([*inputs, observed.to(x.dtype)], -1)

    def parameters_of(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
        """The decoder's outputs by group: {"<type>": [..., width]} (before each type's offsets)."""
        out = self.out(h).split(self.output_widths, dim=-1)
        return {group.type_name: part for group, part in zip(self.groups, out)}

    def forward(self, h: torch.Tensor) -> TableDistribution:
        return TableDistribution(self, self.out(h))

    def advice(self, x: torch.Tensor, what: str) -> None:
        """Every column has a likelihood of its own type: nothing to advise."""
        return None

    def not_a_probability(self, x: torch.Tensor) -> str | None:
        continuous = sorted({group.type_name for group in self.groups} - DISCRETE_TYPES)
        if continuous:
            return (f"a table with {' and '.join(continuous)} columns: its log p(x) adds densities to "
                    "probabilities, and a bit per dimension of that means nothing")
        return None

    def check_support(self, x: torch.Tensor, what: str) -> None:
        """Missing cells (NaN) are allowed; infinite values and values outside a column's type are not."""
        if bool(torch.isinf(x).any()):
            row, column = (int(i) for i in torch.isinf(x).nonzero()[0])
            raise InputError(f"{what} holds an infinite value in row {row}, column {column}: "
                             "mark a missing cell with NaN (an empty cell in a CSV)")
        for group, positions in zip(self.groups, self.positions):
            cells = x[:, positions]
            group.check(torch.where(torch.isnan(cells), self.placeholders[positions], cells), what)
