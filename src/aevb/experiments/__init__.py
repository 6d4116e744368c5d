"""`aevb reproduce EXPERIMENT`: the paper's experiments, each a module with a `run(out, budget, ...)`."""

from . import figure2, figure3

EXPERIMENTS = {"figure2": figure2, "figure3": figure3}

__all__ = ["EXPERIMENTS"]
