"""aevb: Auto-Encoding Variational Bayes (Kingma & Welling 2013).

    import aevb
    model = aevb.VAE(data_dim=784, latent_dim=20, hidden=(500,), activation="tanh", likelihood="bernoulli")
    aevb.elbo(model, x, samples=1, kl="analytic")     # [B] nats per datapoint (estimator B)
    aevb.log_likelihood(model, x, k=5000)              # [B] importance-sampled log p(x)
    model.save("run/model"); model = aevb.load("run/model")

The package's folders are its layers (docs/architecture.md): io, kernels → model → objectives →
estimators, training → baselines, apps → experiments → cli.
"""

from importlib.metadata import version as _version

from . import datasets, objectives
from .datasets import Dataset
from .errors import InputError
from .estimators.bound import Estimate, evaluate_elbo
from .estimators.diagnostics import active_units, kl_per_dimension, report
from .estimators.hmc_marginal_likelihood import marginal_likelihood_hmc
from .estimators.importance import importance_sampling, log_likelihood
from .io.checkpoint import CheckpointError
from .model import VAE, VAEConfig, load
from .objectives import elbo, iwae_bound, log_weight_prior
from .training import TrainConfig, resume, train

__all__ = ["datasets", "objectives", "VAE", "VAEConfig", "elbo", "iwae_bound", "log_weight_prior", "load", "InputError", "CheckpointError", "Dataset",
           "Estimate", "evaluate_elbo", "log_likelihood", "importance_sampling", "marginal_likelihood_hmc",
           "active_units", "kl_per_dimension", "report", "TrainConfig", "train", "resume"]
__version__ = _version("aevb")     # the package metadata's, set in pyproject.toml
