"""Like against like: a VAE against the classic mixture density model it generalises, in nats per
test datapoint (higher is better).

- Continuous: MNIST's grey pixels dequantised, y = (k + u)/256 for the 8-bit level k of each pixel (the
  classic file stores k/256, the IDX files' images are k/255: the grid is detected) with u ~ U[0, 1)
  drawn once (seed 0), so that y has a density on [0, 1]^784. A Gaussian-likelihood VAE (784-500-20, tanh, sigmoid mean,
  a learned variance per pixel) against scikit-learn's `GaussianMixture` (full covariances), both
  densities of y; also given as bits per dimension of the 8-bit images, −(log p(y) − 784·log 256)/(784·ln 2),
  an upper bound on what a discrete model of the pixels would need.
- Binary: dynamically binarised MNIST, a Bernoulli VAE and an IWAE (k = 5) against a mixture of
  Bernoullis fitted by EM (`aevb.baselines.BernoulliMixture`, on one fixed binarisation of the training
  set), all probabilities of the test images binarised once (seed 0).

The VAEs' log p(x) is estimated by importance sampling on the first test points (k = 1000 on 1000 at
smaller budgets, k = 5000 on all 10 000 at `--budget paper`); the mixtures' is exact on the same points.
Writes OUT/density-table.csv and .md; runs resume, mixtures are refitted (a minute or two).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .. import datasets
from ..datasets.binarization import fixed_draw
from ..errors import InputError
from ..estimators.bound import Estimate
from ..estimators.importance import importance_sampling
from ..io.files import write_bytes_atomic, write_csv
from ..io.run_directory import TEST_BINARIZATION_SEED
from ..training import TrainConfig
from . import runs

DEFAULT_BUDGET = 1_000_000
PAPER_BUDGET = 100_000_000
MODEL = dict(latent_dim=20, hidden=(500,), activation="tanh")
MIXTURE_COMPONENTS = {"gaussian": 10, "bernoulli": 100}
GAUSSIAN_MIXTURE_ROWS = 10_000     # full covariances of 784 dimensions: EM on 10 000 rows takes about a minute
PIXELS = 784


def dequantised(x: torch.Tensor, seed: int) -> torch.Tensor:
    """Grey values x = k/256 or k/255 → (k + u)/256, u ~ U[0, 1): a density on [0, 1]^D whose log is
    log P(k) − D·log 256 or less for any model of the discrete k."""
    generator = torch.Generator().manual_seed(seed)
    return (grey_levels(x) + torch.rand(x.shape, generator=generator)) / 256


def grey_levels(x: torch.Tensor) -> torch.Tensor:
    """The 8-bit levels k in 0..255 of intensities stored on either grid, k/256 (tried first) or k/255:
    float [same shape]. For 0 < k < 255 the wrong grid is at least 1/255 away from a whole level."""
    for steps in (256, 255):
        levels = x.double() * steps
        rounded = levels.round()
        if rounded.min() >= 0 and rounded.max() <= 255 and (levels - rounded).abs().max() < 1e-3:
            return rounded.float()
    raise InputError("the grey images are not 8-bit intensities k/256 or k/255: dequantisation needs their levels")


def run(out: Path, budget: int | str = DEFAULT_BUDGET, data_dir=None, jobs: int = 1, progress: bool = True,
        log=print, evaluation: tuple[int, int] | None = None, mixture_rows: int | None = None) -> Path:
    """`evaluation` = (test points, k of the VAEs' importance sampling); `mixture_rows` limits the
    training rows the mixtures are fitted on (default: 10 000 for the Gaussian mixture, all for the
    Bernoulli mixture)."""
    samples = PAPER_BUDGET if budget == "paper" else int(budget)
    points, k = evaluation or ((10_000, 5000) if budget == "paper" else (1000, 1000))
    mnist = datasets.load("mnist", data_dir=data_dir, log=log)
    grey_file = out / "mnist-dequantised.npz"
    if not grey_file.is_file():
        grey = {split: dequantised(getattr(mnist, split), seed).numpy().reshape(-1, 28, 28)
                for seed, split in enumerate(("train", "test"))}
        out.mkdir(parents=True, exist_ok=True)
        np.savez(grey_file, **grey)
    grey = datasets.load(str(grey_file), log=lambda *a: None)
    planned = [_plan(out / "gaussian-vae", str(grey_file.resolve()), None, dict(likelihood="gaussian", gaussian_variance="learned"),
                     {"data": "grey", "model": "Gaussian VAE"}, samples, "none"),
               _plan(out / "bernoulli-vae", "mnist", data_dir, dict(likelihood="bernoulli"),
                     {"data": "binary", "model": "Bernoulli VAE"}, samples, "dynamic"),
               _plan(out / "iwae-k5", "mnist", data_dir, dict(likelihood="bernoulli"),
                     {"data": "binary", "model": "IWAE (k = 5)"}, samples, "dynamic", objective="iwae", k=5)]
    runs.complete(planned, jobs, progress, log)
    test = {"grey": grey.test[:points], "binary": fixed_draw(mnist.test[:points], TEST_BINARIZATION_SEED)}
    records = []
    for planned_run in planned:
        x = test[planned_run.labels["data"]]
        row = runs.score(planned_run, f"test-log-likelihood-k{k}-n{points}",
                         lambda model: importance_sampling(model, x, k=k).summary())
        records.append({**planned_run.labels, **row})
    gaussian_rows = mixture_rows or GAUSSIAN_MIXTURE_ROWS
    log(f"fitting GaussianMixture({MIXTURE_COMPONENTS['gaussian']}, full) to {gaussian_rows:,} grey images")
    records.append(_gaussian_mixture(grey.train[:gaussian_rows], test["grey"]))
    log(f"fitting BernoulliMixture({MIXTURE_COMPONENTS['bernoulli']}) to the binarised training set")
    records.append(_bernoulli_mixture(fixed_draw(mnist.train[:mixture_rows], TEST_BINARIZATION_SEED), test["binary"]))
    for row in records:
        if row["data"] == "grey":
            row["bits_per_dim"] = -(row["log_likelihood"] - PIXELS * math.log(256)) / (PIXELS * math.log(2))
    write_csv(out / "density-table.csv", records, ["data", "model", "samples_seen", "log_likelihood",
                                                   "log_likelihood_stderr", "n", "k", "bits_per_dim"])
    write_bytes_atomic(out / "density-table.md", _summary(records, samples, points, k).encode())
    return out


def _plan(directory: Path, data: str, data_dir, model: dict, labels: dict, budget: int, binarize: str,
          **objective) -> runs.PlannedRun:
    config = TrainConfig(data=data, data_dir=None if data_dir is None else str(data_dir), binarize=binarize,
                         optimizer="adam", epochs=None, max_samples=budget, eval_every=budget, seed=0, **objective)
    return runs.PlannedRun(directory, config, {**MODEL, **model}, labels)


def _gaussian_mixture(train: torch.Tensor, test: torch.Tensor) -> dict:
    from sklearn.mixture import GaussianMixture

    mixture = GaussianMixture(MIXTURE_COMPONENTS["gaussian"], covariance_type="full", random_state=0)
    mixture.fit(train.double().numpy())
    estimate = Estimate.of(torch.from_numpy(mixture.score_samples(test.double().numpy())))
    return {"data": "grey", "model": f"GaussianMixture (K = {mixture.n_components}, full)",
            "log_likelihood": estimate.mean, "log_likelihood_stderr": estimate.stderr, "n": estimate.n}


def _bernoulli_mixture(train: torch.Tensor, test: torch.Tensor) -> dict:
    from ..baselines.bernoulli_mixture import BernoulliMixture  # scikit-learn, imported when used

    mixture = BernoulliMixture(MIXTURE_COMPONENTS["bernoulli"], random_state=0).fit(train.numpy())
    estimate = Estimate.of(torch.from_numpy(mixture.score_samples(test.numpy())))
    return {"data": "binary", "model": f"Bernoulli mixture (K = {mixture.n_components}, EM)",
            "log_likelihood": estimate.mean, "log_likelihood_stderr": estimate.stderr, "n": estimate.n}


def _summary(records: list[dict], budget: int, points: int, k: int) -> str:
    lines = ["# Density table: VAEs against mixture models", "",
             f"VAEs trained on {budget:,} datapoints each (784-500-20, tanh, Adam 1e-3, M = 100); their log p(x) by "
             f"importance sampling with k = {k}, the mixtures' exactly, on the first {points:,} test images. "
             "Nats per datapoint, higher is better, ± one standard error. Grey: densities of dequantised pixels "
             "on [0, 1]^784 (not comparable with the binary rows); binary: probabilities of binarised images.", "",
             "| data | model | log p(x) | bits/dim (8-bit) | samples |", "|---|---|---|---|---|"]
    for row in records:
        bits = f"{row['bits_per_dim']:.3f}" if "bits_per_dim" in row else ""
        seen = f"{row['samples_seen']:,}" if "samples_seen" in row else "EM"
        lines.append(f"| {row['data']} | {row['model']} | {row['log_likelihood']:.1f} ± "
                     f"{row['log_likelihood_stderr']:.1f} | {bits} | {seen} |")
    return "\n".join(lines) + "\n"
