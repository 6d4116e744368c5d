"""`aevb reproduce EXPERIMENT`: the paper's experiments, each a module with a `run(out, budget, ...)`."""

from . import figure2

EXPERIMENTS = {"figure2": figure2}

__all__ = ["EXPERIMENTS"]
