"""VariationalAutoencoder: the VAE as a scikit-learn estimator, trained by the same loop as `aevb train`.

    est = VariationalAutoencoder(latent_dim=2, epochs=30, random_state=0).fit(X)     # X [N, D]
    est.transform(X)          # E_q[z|x], [N, Nz]
    est.inverse_transform(Z)  # the mean of p(x|z), [N, D]
    est.score_samples(X)      # importance-sampled log p(x) per row, [N] nats
    est.sample(10)            # x ~ p(x|z), z ~ N(0, I), [10, D]
    est.save("run")           # an ordinary run directory; aevb.sklearn.load("run") reads it back

Every per-row output depends on that row alone: scoring draws the same ε for every row from a fixed
seed, so a row scores the same alone, in a batch, or in another order. Outputs come in the input's
floating-point type (float32 or float64; other inputs give float64), computed in it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, DensityMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ..datasets.dataset import Dataset
from ..datasets.tables import as_frame, encode, infer_specs
from ..errors import InputError
from ..estimators.bound import Estimate
from ..estimators.importance import importance_sampling
from ..io.checkpoint import model_config_document, read_config, save_weights
from ..io.files import write_bytes_atomic, write_json_atomic
from ..io.run_directory import CONFIG_FILE, EVALUATION_SEED, METRICS_FILE, check_new_run_directory, read_metrics
from ..model.loading import load as load_model
from ..model.vae import VAE
from ..randomness import seeded
from ..training import TrainConfig, train
from ..training.evaluation import watched_bound

LIKELIHOOD_OPTIONS = {
    # The estimator's names for the decoder families: keyword arguments of aevb.VAE.
    "columns": {"likelihood": "columns"},
    "bernoulli": {"likelihood": "bernoulli"},
    "gaussian": {"likelihood": "gaussian", "gaussian_mean": "linear", "gaussian_variance": "learned"},
}
FLOAT_TYPES = (np.float64, np.float32)
EPOCHS, EPOCHS_CAP = 100, 1000    # passes over X without early stopping, and its cap with it
AUTO_BATCH, STEPS_PER_PASS = (16, 100), 20   # batch_size="auto": n // 20 rows, within [16, 100]
EARLY_STOPPING_ROWS = 200         # early_stopping="auto" holds out a validation split from this many rows on


class VariationalAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, DensityMixin, BaseEstimator):
    """A variational autoencoder (Kingma & Welling 2013) with scikit-learn's estimator conventions.

    latent_dim: Nz, the size of the code. hidden: widths of the encoder's hidden layers (the decoder
    mirrors them). activation: "tanh", "relu", ... likelihood: p(x|z) — "auto" (or "columns") gives each
    column its own type, chosen from the data: real (Gaussian, standardised inside the model, so X needs no
    scaler), positive (log-normal), count (Poisson), binary (Bernoulli) or categorical (a DataFrame's text
    and categorical columns); `column_types` ({column name: type}; an array's columns are named "0", "1",
    ...) overrides the choice. Missing cells (NaN, None) are then allowed: training and scores use the
    observed cells only. "bernoulli" and "gaussian" (a linear mean and a learned variance per feature, in
    X's own units) are the paper's decoders for complete data. objective: "elbo" (the paper),
    "iwae" (with `k` samples) or any other of `aevb train --objective`. beta: the weight of the KL term.
    estimator: "B" (analytic KL) or "A". samples: L, draws of z per row in training. batch_size ("auto":
    n_samples // 20 rows, within [16, 100], about 20 steps a pass),
    optimizer, lr (None: the optimiser's default), epochs and max_samples (rows seen; whichever ends
    first) set Algorithm 1; epochs=None is 1000 with early stopping (a cap) and 100 without.
    early_stopping ("auto": on for X of at least 200 rows, True, False), validation_fraction, n_iter_no_change
    and tol follow MLPRegressor: `validation_fraction` of the rows is held out, the bound on them is computed
    after every pass (the IWAE bound L_k with k = `validation_k`; 1: the ELBO), and training stops after
    `n_iter_no_change` passes in a row without a bound better than the best by more than `tol` nats per row;
    the model keeps the weights of the best pass. score_k: importance samples per row in `score_samples`.
    random_state: int, RandomState or None. device: "cpu", "cuda", ... verbose: 0 silent, 1 the progress of training.
    """

    def __init__(self, latent_dim=2, hidden=(64,), activation="tanh", likelihood="auto", objective="elbo",
                 beta=1.0, k=5, estimator="B", samples=1, batch_size="auto", optimizer="adam", lr=None, epochs=None,
                 max_samples=None, early_stopping="auto", validation_fraction=0.1, n_iter_no_change=20, tol=0.01,
                 validation_k=50, score_k=1000, column_types=None, random_state=None, device="cpu", verbose=0):
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.activation = activation
        self.likelihood = likelihood
        self.objective = objective
        self.beta = beta
        self.k = k
        self.estimator = estimator
        self.samples = samples
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.max_samples = max_samples
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.validation_k = validation_k
        self.score_k = score_k
        self.column_types = column_types
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def fit(self, X, y=None):
        """Train on the rows of X [N, D] (y is ignored). Returns self."""
        if self.likelihood not in LIKELIHOOD_OPTIONS and self.likelihood != "auto":
            raise InputError(f"likelihood={self.likelihood!r} is not one of {['auto', *sorted(LIKELIHOOD_OPTIONS)]}")
        likelihood = "columns" if self.likelihood == "auto" else self.likelihood
        specs = None
        if likelihood == "columns":
            frame = self._frame(X, reset=True)
            specs = infer_specs(frame, self.column_types)
            rows = torch.from_numpy(encode(frame, specs))
        else:
            X = validate_data(self, _as_array(X), dtype=FLOAT_TYPES, ensure_min_samples=2)
            rows = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        if torch.isinf(rows).any():
            raise InputError("X holds values too large for float32 (above 3.4e38): rescale it, e.g. with StandardScaler")
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        stopping = self._early_stopping(len(rows))
        epochs = self.epochs if self.epochs is not None else EPOCHS_CAP if stopping else EPOCHS
        config = TrainConfig(data=None, binarize="none", objective=self.objective, estimator=self.estimator,
                             samples=self.samples, k=self.k, beta=self.beta, batch_size=self._batch_size(len(rows)),
                             optimizer=self.optimizer, lr=self.lr, epochs=epochs, max_samples=self.max_samples,
                             validation_fraction=self.validation_fraction if stopping else 0.0,
                             early_stopping=self.n_iter_no_change if stopping else None, min_improvement=self.tol,
                             validation_k=self.validation_k,
                             seed=seed, device=self.device)
        dataset = Dataset("array", rows, None, None, None, likelihood, f"an array of {len(rows)} rows held in memory")
        history = []
        with seeded(seed, torch.device(self.device)):       # the caller's random stream is left as it was
            model = VAE(data_dim=rows.shape[1], latent_dim=self.latent_dim, hidden=tuple(self.hidden),
                        activation=self.activation, **LIKELIHOOD_OPTIONS[likelihood], columns=specs or ())
            model = train(model, dataset, config, None, progress=self.verbose > 0,
                          log=print if self.verbose > 0 else _silent, on_evaluation=history.append)
        self.model_ = model.eval()
        self.likelihood_ = likelihood
        self.train_config_ = config
        self.history_ = history
        self.n_samples_fit_ = len(rows)
        self._set_validation_attributes(history)
        return self

    def _batch_size(self, n_rows: int) -> int:
        """"auto": n // STEPS_PER_PASS rows within AUTO_BATCH, so that a pass over a small table takes about 20
        steps (measured on breast cancer, wine and diabetes: 300 passes end 1–4 nats per row better held out
        than 300 passes at 100 rows a step; docs/tables.md)."""
        if self.batch_size == "auto":
            return min(AUTO_BATCH[1], max(AUTO_BATCH[0], n_rows // STEPS_PER_PASS))
        return self.batch_size

    def _early_stopping(self, n_rows: int) -> bool:
        if self.early_stopping == "auto":
            return n_rows >= EARLY_STOPPING_ROWS
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise InputError(f"early_stopping={self.early_stopping!r} must be True, False or 'auto'")
        return bool(self.early_stopping)

    def _set_validation_attributes(self, history: list[dict]) -> None:
        """MLPRegressor's fitted attributes: passes run, and the validation bound of each (None without early
        stopping)."""
        self.n_iter_ = math.ceil(history[-1]["epoch"]) if history else 0
        watched = watched_bound(self.train_config_)
        scores = [row[watched] for row in history if watched in row]
        self.validation_scores_ = scores or None
        self.best_validation_score_ = max(scores) if scores else None

    def transform(self, X):
        """E_q[z|x], the mean of the code of every row of X: [N, latent_dim]."""
        X, model = self._checked(X)
        with torch.no_grad():
            return model.encode(_tensor(X, self.device)).base_dist.loc.cpu().numpy()

    def inverse_transform(self, X):
        """The mean of p(x|z) for every code z (a row of X [N, latent_dim]): [N, n_features_in_]."""
        check_is_fitted(self)
        Z = check_array(_as_array(X), dtype=FLOAT_TYPES)
        if Z.shape[1] != self.model_.config.latent_dim:
            raise InputError(f"X has {Z.shape[1]} features, but {type(self).__name__} decodes codes of "
                             f"{self.model_.config.latent_dim} (its latent_dim)")
        with torch.no_grad():
            return self._model_in(Z.dtype).decode(_tensor(Z, self.device)).mean.cpu().numpy()

    def score_samples(self, X, k=None):
        """log p(x) of every row of X in nats, by importance sampling with k (default `score_k`) draws
        from q(z|x), the same draws for every row: [N]."""
        X, model = self._checked(X)
        x = _tensor(X, self.device)
        model.check_data(x, "X")
        estimate = importance_sampling(model, x, self.score_k if k is None else k, seed=EVALUATION_SEED)
        return estimate.log_likelihood.cpu().numpy()

    def score(self, X, y=None):
        """The mean of `score_samples(X)`: the average log-likelihood per row, in nats."""
        return float(Estimate.of(torch.from_numpy(self.score_samples(X))).mean)

    def sample(self, n_samples=1, random_state=None):
        """n_samples draws x ~ p(x|z), z ~ N(0, I): [n_samples, n_features_in_] (float64)."""
        check_is_fitted(self)
        if not (isinstance(n_samples, (int, np.integer)) and n_samples >= 1):
            raise InputError(f"n_samples={n_samples!r} must be a positive integer")
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        with seeded(seed, torch.device(self.device)), torch.no_grad():
            return self.model_.sample(int(n_samples), mean=False).double().cpu().numpy()

    def save(self, path) -> None:
        """Write the run directory `path` (new or empty): config.json, model.safetensors and metrics.jsonl,
        which every `aevb` verb reads (the data were an array in memory: verbs that need data take
        --data). Read it back with `aevb.sklearn.load(path)`."""
        check_is_fitted(self)
        path = Path(path)
        check_new_run_directory(path)
        path.mkdir(parents=True, exist_ok=True)
        columns = [str(c) for c in getattr(self, "feature_names_in_", [])] or None
        data = {"name": "array", "source": "an array held in memory", "n_train": self.n_samples_fit_,
                "n_test": None, "image_shape": None, "columns": columns}
        write_bytes_atomic(path / METRICS_FILE, "".join(json.dumps(m) + "\n" for m in self.history_).encode())
        save_weights(self.model_, path)
        write_json_atomic(path / CONFIG_FILE, model_config_document(
            self.model_.config, train=dataclasses.asdict(self.train_config_), data=data,
            sklearn={"class": type(self).__name__, "params": _json_params(self.get_params())}))

    @property
    def _n_features_out(self) -> int:
        return self.model_.config.latent_dim

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = self.likelihood in ("auto", "columns")
        return tags

    def _checked(self, X):
        """X validated against the fitted estimator as the model's values [N, D] (a table's codes, NaN for
        missing cells), and the model in X's floating-point type."""
        check_is_fitted(self)
        specs = self.model_.config.columns
        if specs:
            frame = self._frame(X, reset=False)
            X = encode(frame, specs, dtype=_float_type(frame))
        else:
            X = validate_data(self, _as_array(X), dtype=FLOAT_TYPES, reset=False)
        return X, self._model_in(X.dtype)

    def _frame(self, X, reset: bool):
        """X as a DataFrame, validated (names, width, rows) with missing values allowed."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, dtype=None, ensure_all_finite=False, ensure_min_samples=2 if reset else 1,
                          reset=reset)
            return X
        array = validate_data(self, _as_array(X), dtype=FLOAT_TYPES, ensure_all_finite="allow-nan",
                              ensure_min_samples=2 if reset else 1, reset=reset)
        return as_frame(array, getattr(self, "feature_names_in_", None))

    def _model_in(self, dtype) -> VAE:
        """The fitted model with parameters of `dtype` (a float64 copy for float64 data)."""
        if torch.from_numpy(np.empty(0, dtype)).dtype == torch.float32:
            return self.model_
        return copy.deepcopy(self.model_).to(torch.float64)


def load(path) -> VariationalAutoencoder:
    """A fitted VariationalAutoencoder from a run directory: one written by `save`, or by `aevb train`
    (its hyperparameters then come from the run's settings)."""
    document = read_config(path)
    model = load_model(path).eval()
    train_settings = document.get("train")
    if train_settings is None:
        raise InputError(f"{path} holds a model saved without training settings; load it with aevb.load")
    config = TrainConfig.from_dict(train_settings, f"{Path(path) / CONFIG_FILE}'s \"train\" section")
    params = (document.get("sklearn") or {}).get("params") or _params_of(model, config)
    estimator = VariationalAutoencoder(**{**params, "hidden": tuple(params["hidden"])})   # JSON keeps lists
    estimator.model_, estimator.train_config_ = model, config
    estimator.likelihood_ = model.config.likelihood
    estimator.history_ = read_metrics(Path(path)) if (Path(path) / METRICS_FILE).exists() else []
    estimator._set_validation_attributes(estimator.history_)
    estimator.n_features_in_ = model.config.data_dim
    estimator.n_samples_fit_ = (document.get("data") or {}).get("n_train")
    columns = (document.get("data") or {}).get("columns")
    if columns:
        estimator.feature_names_in_ = np.array(columns, dtype=object)
    return estimator


def _params_of(model: VAE, config: TrainConfig) -> dict:
    """The estimator's hyperparameters equivalent to a run trained by `aevb train`."""
    fields = ("objective", "beta", "k", "estimator", "samples", "batch_size", "optimizer", "lr", "epochs",
              "max_samples", "device")
    return {"latent_dim": model.config.latent_dim, "hidden": model.config.hidden,
            "activation": model.config.activation, "likelihood": model.config.likelihood,
            "random_state": config.seed, "early_stopping": config.early_stopping is not None,
            "validation_fraction": config.validation_fraction or 0.1, "n_iter_no_change": config.early_stopping or 20,
            "validation_k": config.validation_k,
            "tol": config.min_improvement, **{name: getattr(config, name) for name in fields}}


def _json_params(params: dict) -> dict:
    """The hyperparameters as JSON values; a RandomState instance is recorded as None."""
    return {name: (list(value) if isinstance(value, tuple) else value if _is_json(value) else None)
            for name, value in params.items()}


def _is_json(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, list, dict))


def _float_type(frame: pd.DataFrame):
    """float32 when every column of the frame is float32 (scikit-learn keeps that type), else float64."""
    return np.float32 if all(dtype == np.float32 for dtype in frame.dtypes) else np.float64


def _as_array(X):
    """Torch tensors as numpy arrays (what scikit-learn's checks take); anything else unchanged."""
    return X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else X


def _tensor(X: np.ndarray, device: str) -> torch.Tensor:
    return torch.from_numpy(np.require(X, requirements=["C", "W"])).to(device)   # a copy when read-only


def _silent(*args, **kwargs) -> None:
    """A log that prints nothing."""
