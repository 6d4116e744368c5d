"""The models the paper and its readers compare a VAE with, beside the objectives in `aevb.objectives`
(wake-sleep, IWAE, β-VAE, autoencoder): Monte Carlo EM, and the classic mixture density models."""

from .mcem import MonteCarloEM

__all__ = ["BernoulliMixture", "MonteCarloEM"]


def __getattr__(name: str):
    """BernoulliMixture on first use: it is a scikit-learn estimator, and scikit-learn takes most of a
    second to import, which no verb but `reproduce density-table` needs."""
    if name == "BernoulliMixture":
        from .bernoulli_mixture import BernoulliMixture

        return BernoulliMixture
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
