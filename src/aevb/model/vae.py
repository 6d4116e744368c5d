"""The variational autoencoder of the paper: q(z|x), p(z) = N(0, I) and p(x|z) (docs/maths.md §1)."""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Distribution, Independent, Normal

from ..errors import InputError
from ..io.checkpoint import save_model
from ..kernels.dense import Dense
from .architectures import ARCHITECTURES
from .config import VAEConfig
from .likelihoods import LIKELIHOODS
from .networks import INITIALISATIONS


class VAE(nn.Module):
    """Gaussian recognition model, standard normal prior, and a decoder from `LIKELIHOODS`.

    >>> model = VAE(data_dim=784, latent_dim=20, hidden=(500,), activation="tanh", likelihood="bernoulli")
    >>> q_z = model.encode(x)       # batch_shape [B], event_shape [Nz]
    >>> p_x = model.decode(q_z.rsample())   # event_shape [D]
    """

    def __init__(self, data_dim: int, latent_dim: int = 20, hidden=(500,), activation: str = "tanh",
                 likelihood: str = "bernoulli", **options):
        super().__init__()
        self.config = VAEConfig(data_dim=data_dim, latent_dim=latent_dim, hidden=tuple(hidden),
                                activation=activation, likelihood=likelihood, **options)
        cfg = self.config
        input_width = LIKELIHOODS[cfg.likelihood].input_width(cfg)        # D, or a table's inputs and mask
        architecture = ARCHITECTURES[cfg.arch]
        self.encoder, encoder_features = architecture.encoder(input_width, cfg)
        # One linear map gives both heads: [..., 2 Nz] = [μ | log σ²].
        self.encoder_head = Dense(encoder_features, 2 * cfg.latent_dim)
        self.decoder, decoder_features = architecture.decoder(cfg)
        self.likelihood = LIKELIHOODS[cfg.likelihood](decoder_features, cfg)
        self.register_buffer("prior_loc", torch.zeros(cfg.latent_dim), persistent=False)
        self.register_buffer("prior_scale", torch.ones(cfg.latent_dim), persistent=False)
        INITIALISATIONS[cfg.init](self)
        if cfg.init == "paper":
            with torch.no_grad():
                self.encoder_head.weight[cfg.latent_dim:].zero_()   # log σ² head starts at 0

    @classmethod
    def from_config(cls, config: VAEConfig) -> "VAE":
        options = config.to_dict()
        return cls(**options)

    @property
    def prior(self) -> Distribution:
        """p(z) = N(0, I), event_shape [Nz]."""
        return Independent(Normal(self.prior_loc, self.prior_scale, validate_args=False), 1, validate_args=False)

    def encode(self, x: torch.Tensor) -> Distribution:
        """q(z|x) = N(μ(x), diag σ²(x)); x [..., D] → batch_shape [...], event_shape [Nz]."""
        if x.shape[-1] != self.config.data_dim:
            raise InputError(f"x has {x.shape[-1]} features per datapoint but this model expects "
                             f"data_dim={self.config.data_dim}; flatten images to [batch, {self.config.data_dim}]")
        loc, log_var = self.encoder_head(self.encoder(self.likelihood.encoder_input(x))).chunk(2, dim=-1)
        return Independent(Normal(loc, torch.exp(0.5 * log_var), validate_args=False), 1, validate_args=False)

    def decode(self, z: torch.Tensor) -> Distribution:
        """p(x|z); z [..., Nz] → batch_shape [...], event_shape [D]."""
        return self.likelihood(self.decoder(z))

    def check_data(self, x: torch.Tensor, what: str = "the data", missing: bool = False) -> None:
        """One clear error when x [N, D] cannot be scored by this model. NaN marks a missing value, which
        a table's likelihood takes anywhere, and any model takes where `missing` (to be filled in)."""
        if x.ndim != 2 or x.shape[1] != self.config.data_dim:
            raise InputError(f"{what} has shape {tuple(x.shape)}; this model expects [N, {self.config.data_dim}]")
        for chunk in x.split(65_536):                   # a chunk at a time: x may be a memory-mapped file
            if self.likelihood.takes_missing:
                self.likelihood.check_support(chunk, what)
                continue
            if bool(torch.isinf(chunk).any()) or (not missing and bool(torch.isnan(chunk).any())):
                raise InputError(f"{what} contains NaN or infinite values: remove or impute them first, or train "
                                 "with likelihood columns, which leaves missing cells out")
            self.likelihood.check_support(torch.nan_to_num(chunk) if missing else chunk, what)

    @torch.no_grad()
    def sample(self, n: int, mean: bool = True) -> torch.Tensor:
        """n draws x ~ p(x|z), z ~ p(z), or the means of p(x|z) when `mean` (clearer pictures): [n, D]."""
        z = self.prior.sample((n,))
        p_x = self.decode(z)
        return p_x.mean if mean else p_x.sample()

    def save(self, path) -> None:
        """Write config.json and model.safetensors into the directory `path` (atomically)."""
        save_model(self, path)
