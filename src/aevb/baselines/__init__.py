"""The models the paper and its readers compare a VAE with, beside the objectives in `aevb.objectives`
(wake-sleep, IWAE, β-VAE, autoencoder): Monte Carlo EM, and the classic mixture density models."""

from .bernoulli_mixture import BernoulliMixture
from .mcem import MonteCarloEM

__all__ = ["BernoulliMixture", "MonteCarloEM"]
