"""aevb's scikit-learn estimators: `VariationalAutoencoder`, and `load` for a run directory."""

from .autoencoder import VariationalAutoencoder, load

__all__ = ["VariationalAutoencoder", "load"]
