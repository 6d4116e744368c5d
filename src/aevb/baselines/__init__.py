"""The models the paper's readers compare a VAE with, beside the objectives in `aevb.objectives`
(wake-sleep, IWAE, β-VAE): the classic mixture density models."""

from .bernoulli_mixture import BernoulliMixture

__all__ = ["BernoulliMixture"]
