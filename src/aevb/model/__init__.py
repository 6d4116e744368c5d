"""The model: its flat configuration, the networks, the decoder likelihoods, the VAE itself, and
loading a saved one."""

from .config import VAEConfig
from .loading import load
from .vae import VAE

__all__ = ["VAE", "VAEConfig", "load"]
