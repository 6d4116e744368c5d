"""`aevb reproduce EXPERIMENT`: the paper's experiments, each a `run(out, budget, data_dir, jobs,
progress, log)` with its default budget."""

from functools import partial
from typing import Callable, NamedTuple

from . import density_table, figure2, figure3, figures45, iwae_table, mnist_likelihood


class Experiment(NamedTuple):
    run: Callable
    default_budget: int
    what: str
    budget_in_hours: bool = False     # whether --budget takes hours ("2h") as well as datapoints


EXPERIMENTS = {
    "figure2": Experiment(figure2.run, figure2.DEFAULT_BUDGET, "AEVB vs wake-sleep, bound against datapoints seen"),
    "figure3": Experiment(figure3.run, figure3.DEFAULT_BUDGET,
                          "AEVB vs wake-sleep vs Monte Carlo EM, marginal likelihood, N_train 1000 and 50 000"),
    "figure4": Experiment(partial(figures45.run, "figure4"), figures45.DEFAULT_BUDGET, "learned 2-D manifolds"),
    "figure5": Experiment(partial(figures45.run, "figure5"), figures45.DEFAULT_BUDGET,
                          "random samples for Nz = 2, 5, 10, 20"),
    "iwae-table": Experiment(iwae_table.run, iwae_table.DEFAULT_BUDGET,
                             "VAE vs IWAE, k = 1, 5, 50, test NLL (Burda et al.)"),
    "mnist-likelihood": Experiment(mnist_likelihood.run, mnist_likelihood.DEFAULT_BUDGET,
                                   "the best one-layer test log-likelihood on MNIST within a budget (e.g. --budget 2h)",
                                   budget_in_hours=True),
    "density-table": Experiment(density_table.run, density_table.DEFAULT_BUDGET,
                                "VAEs vs Gaussian and Bernoulli mixtures, nats per test datapoint"),
}

__all__ = ["EXPERIMENTS", "Experiment"]
