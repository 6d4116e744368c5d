"""VAEImputer: missing values filled by a variational autoencoder trained on the incomplete rows (MIWAE).

    imputer = VAEImputer(VariationalAutoencoder(epochs=200, random_state=0)).fit(X)   # X [N, D], NaN missing
    imputer.transform(X)                 # X with every NaN replaced by E[x_missing | x_observed]
    imputer.sample_imputations(X, 5)     # 5 completions drawn from p(x_missing | x_observed): [5, N, D]

The model gives each column its own type (VariationalAutoencoder's likelihood "auto"): numbers come back
in their own units, categories as their most probable level. Observed cells are returned unchanged.
A DataFrame comes back as a DataFrame (its index, columns and labels kept); an array as an array.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from ..datasets.tables import decode
from ..errors import InputError
from ..estimators.imputation import impute, sample_imputations
from ..io.run_directory import EVALUATION_SEED
from .autoencoder import VariationalAutoencoder, _tensor


class VAEImputer(TransformerMixin, BaseEstimator):
    """Fills missing cells with a VariationalAutoencoder (scikit-learn's imputer conventions).

    autoencoder: the VariationalAutoencoder to train (default: VariationalAutoencoder() with a per-column
    likelihood); its likelihood must be "auto" or "columns". k: importance samples per row when filling.
    """

    def __init__(self, autoencoder=None, k=1000):
        self.autoencoder = autoencoder
        self.k = k

    def fit(self, X, y=None):
        """Train the autoencoder on the observed cells of X. Returns self."""
        autoencoder = clone(self.autoencoder) if self.autoencoder is not None else VariationalAutoencoder()
        if autoencoder.likelihood not in ("auto", "columns"):
            raise InputError(f"VAEImputer needs an autoencoder with likelihood 'auto' or 'columns' (which leave "
                             f"missing cells out), not {autoencoder.likelihood!r}")
        if not (isinstance(self.k, (int, np.integer)) and self.k >= 1):
            raise InputError(f"k={self.k!r} must be a positive integer (importance samples per row)")
        self.autoencoder_ = autoencoder.fit(X)
        self.n_features_in_ = self.autoencoder_.n_features_in_
        if hasattr(self.autoencoder_, "feature_names_in_"):
            self.feature_names_in_ = self.autoencoder_.feature_names_in_
        return self

    def transform(self, X):
        """X with its missing cells filled by the estimate of E[x_missing | x_observed] (the most probable
        level for binary and categorical columns): the same shape, and a DataFrame for a DataFrame."""
        values, model = self._values(X)
        filled = impute(model, values, self.k, seed=EVALUATION_SEED)
        return self._as_input(filled.cpu().numpy(), X)

    def sample_imputations(self, X, n_imputations=5):
        """n_imputations completions of X drawn from the model's p(x_missing | x_observed) (multiple
        imputation): an array [n, N, D], or a list of n DataFrames for a DataFrame."""
        values, model = self._values(X)
        draws = sample_imputations(model, values, int(n_imputations), self.k, seed=EVALUATION_SEED).cpu().numpy()
        if isinstance(X, pd.DataFrame):
            return [self._as_input(draw, X) for draw in draws]
        return draws

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self)
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _values(self, X):
        check_is_fitted(self)
        values, model = self.autoencoder_._checked(X)
        return _tensor(values, self.autoencoder_.device), model

    def _as_input(self, values: np.ndarray, X):
        specs = self.autoencoder_.model_.config.columns
        if isinstance(X, pd.DataFrame):
            frame = decode(values, specs, index=X.index)
            frame.columns = X.columns
            return frame
        return values

