"""`aevb reproduce EXPERIMENT`: the paper's experiments, each a `run(out, budget, data_dir, jobs,
progress, log)` with its default budget."""

from functools import partial
from typing import Callable, NamedTuple

from . import density_table, figure2, figure3, figures45, iwae_table


class Experiment(NamedTuple):
    run: Callable
    default_budget: int


EXPERIMENTS = {
    "figure2": Experiment(figure2.run, figure2.DEFAULT_BUDGET),
    "figure3": Experiment(figure3.run, figure3.DEFAULT_BUDGET),
    "figure4": Experiment(partial(figures45.run, "figure4"), figures45.DEFAULT_BUDGET),
    "figure5": Experiment(partial(figures45.run, "figure5"), figures45.DEFAULT_BUDGET),
    "iwae-table": Experiment(iwae_table.run, iwae_table.DEFAULT_BUDGET),
    "density-table": Experiment(density_table.run, density_table.DEFAULT_BUDGET),
}

__all__ = ["EXPERIMENTS", "Experiment"]
