"""aevb: Auto-Encoding Variational Bayes (Kingma & Welling 2013).

    import aevb
    model = aevb.VAE(data_dim=784, latent_dim=20, hidden=(500,), activation="tanh", likelihood="bernoulli")
    aevb.elbo(model, x, samples=1, kl="analytic")     # [B] nats per datapoint (estimator B)
    model.save("run/model"); model = aevb.load("run/model")
"""

from .checkpoint import CheckpointError, load
from .config import VAEConfig
from .datasets import Dataset
from .evaluation import Estimate, evaluate_elbo
from .model import VAE
from .objectives import elbo, log_weight_prior
from .training import TrainConfig, resume, train

__all__ = ["VAE", "VAEConfig", "elbo", "log_weight_prior", "load", "CheckpointError", "Dataset", "Estimate",
           "evaluate_elbo", "TrainConfig", "train", "resume"]
__version__ = "0.1.0"
