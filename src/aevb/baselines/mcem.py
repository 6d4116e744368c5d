"""Monte Carlo EM with HMC, the paper's Figure 3 baseline (its Appendix E), on a VAE's decoder.

The generative model is the VAE's: p(z) = N(0, I), p(x|z) the decoder; the encoder takes no part. Every
training datapoint keeps one persistent Markov chain z_i on its posterior p(z|x_i). For each minibatch:

- E-step: one HMC transition per datapoint (10 leapfrog steps), its step size adapted towards 90 %
  acceptance by log(step) += 0.1·(accepted − 0.9);
- M-step: 5 Adagrad updates of θ on mean_i log p(x_i | z_i) (+ log p(θ)/N, the MAP prior, as weight
  decay like AEVB's), with the chains' z held fixed.

Unlike AEVB it needs a sampling loop per datapoint, and a chain is only advanced when its datapoint is
in a minibatch: with N = 50 000 each chain moves once per 500 updates of θ, which is why the paper finds
it falling behind on the full data set. A run directory holds config.json, model.safetensors (so that
`aevb.load` and the picture verbs read it) and mcem.safetensors (chains, steps, optimiser, progress,
generator state), written atomically; `fit` continues from it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from ..datasets.binarization import BINARIZATIONS
from ..estimators.hmc import adapted, transition
from ..io.checkpoint import (
    load_state,
    model_config_document,
    optimizer_from_tensors,
    optimizer_to_tensors,
    read_tensors,
    save_weights,
    write_tensors,
)
from ..io.files import write_json_atomic
from ..io.run_directory import CONFIG_FILE
from ..randomness import restore_rng_state, rng_state_tensors, seeded
from ..training.epochs import Position, minibatches

STATE_FILE = "mcem.safetensors"


class MonteCarloEM:
    def __init__(self, model, n_train: int, lr: float = 0.02, weight_prior: bool = True, leapfrog_steps: int = 10,
                 updates_per_e_step: int = 5, target_acceptance: float = 0.9, initial_step: float = 0.1, seed: int = 0):
        self.model, self.leapfrog_steps, self.updates_per_e_step = model, leapfrog_steps, updates_per_e_step
        self.target_acceptance = target_acceptance
        generator = torch.Generator().manual_seed(seed)
        dtype = next(model.parameters()).dtype
        self.chains = torch.randn(n_train, model.config.latent_dim, generator=generator, dtype=dtype)  # z_i ~ p(z)
        self.steps = torch.full((n_train, 1), initial_step, dtype=dtype)                              # [N, 1]
        generative = [p for name, p in model.named_parameters() if not name.startswith("encoder")]   # θ
        self.optimizer = torch.optim.Adagrad(generative, lr=lr, weight_decay=1.0 / n_train if weight_prior else 0.0)

    def e_step(self, x: torch.Tensor, indices: torch.Tensor, adapt: bool = True) -> torch.Tensor:
        """One HMC transition for the chains of x [B, D] (rows `indices` [B]); the fraction accepted."""
        z, accepted, _ = transition(self.model, x, self.chains[indices], self.steps[indices], self.leapfrog_steps)
        self.chains[indices] = z
        if adapt:
            self.steps[indices] = adapted(self.steps[indices], accepted, self.target_acceptance)
        return accepted.float().mean()

    def m_step(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """`updates_per_e_step` Adagrad steps on mean_i log p(x_i | z_i); the last value of it."""
        z = self.chains[indices]
        for _ in range(self.updates_per_e_step):
            log_likelihood = self.model.decode(z).log_prob(x).mean()
            self.optimizer.zero_grad(set_to_none=True)
            (-log_likelihood).backward()
            self.optimizer.step()
        return log_likelihood.detach()

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict]:
        optimizer_tensors, optimizer_plain = optimizer_to_tensors(self.optimizer.state_dict())
        tensors = {**{f"model.{k}": v for k, v in self.model.state_dict().items()}, **optimizer_tensors,
                   "chains": self.chains, "steps": self.steps}
        return tensors, optimizer_plain

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], optimizer_plain: dict, file: Path) -> None:
        load_state(self.model, {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}, file)
        self.optimizer.load_state_dict(optimizer_from_tensors(tensors, optimizer_plain))
        self.chains, self.steps = tensors["chains"].clone(), tensors["steps"].clone()


def samples_seen(run_dir) -> int:
    """Datapoints the MCEM run in `run_dir` has trained on (0 for none yet)."""
    file = Path(run_dir) / STATE_FILE
    if not file.exists():
        return 0
    _, metadata = read_tensors(file, "aevb.mcem")
    return json.loads(metadata["state"])["progress"]["samples_seen"]


def fit(run_dir, model, train: torch.Tensor, budget: int, binarize: str = "dynamic", batch_size: int = 100,
        seed: int = 0, **options) -> MonteCarloEM:
    """Train `model`'s decoder by MCEM on `train` [N, D] until `budget` datapoints have been seen, in
    the run directory `run_dir`: a new one is created, an existing one continued (`model` then
    receives its saved weights). The caller's global random stream is left as it was."""
    with seeded(seed, torch.device("cpu")):
        return _fit(Path(run_dir), model, train, budget, binarize, batch_size, seed, options)


def _fit(run_dir: Path, model, train: torch.Tensor, budget: int, binarize: str, batch_size: int, seed: int,
         options: dict) -> MonteCarloEM:
    binarization = BINARIZATIONS[binarize]
    train_x = binarization.prepare(train, seed)
    algorithm = MonteCarloEM(model, len(train_x), seed=seed, **options)
    position = Position()
    if (run_dir / STATE_FILE).exists():
        tensors, metadata = read_tensors(run_dir / STATE_FILE, "aevb.mcem")
        saved = json.loads(metadata["state"])
        algorithm.load_state_tensors(tensors, saved["optimizer"], run_dir / STATE_FILE)
        restore_rng_state(tensors)
        position = Position(**saved["progress"])
    else:
        write_json_atomic(run_dir / CONFIG_FILE, model_config_document(
            model.config, mcem={"n_train": len(train_x), "binarize": binarize, "batch_size": batch_size,
                                "seed": seed, **options}))
    for indices in minibatches(position, seed, len(train_x), batch_size, budget):
        x = binarization.per_batch(train_x[indices])                                      # [M, D]
        algorithm.e_step(x, indices)
        algorithm.m_step(x, indices)
    tensors, optimizer_plain = algorithm.state_tensors()
    write_tensors(run_dir / STATE_FILE, {**tensors, **rng_state_tensors()}, "aevb.mcem",
                  state=json.dumps({"progress": dataclasses.asdict(position), "optimizer": optimizer_plain}))
    save_weights(model, run_dir)
    return algorithm
