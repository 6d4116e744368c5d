"""aevb's scikit-learn estimators: `VariationalAutoencoder`, `VAEImputer`, and `load` for a run directory."""

from .autoencoder import VariationalAutoencoder, load
from .imputer import VAEImputer

__all__ = ["VAEImputer", "VariationalAutoencoder", "load"]
