"""The best single-stochastic-layer test log-likelihood on MNIST that a CPU reaches in a given budget.

The recipe (docs/reproducing.md says what was measured and what was taken from the literature): Burda et
al.'s network 784-200-200-50 with tanh and a Bernoulli decoder, trained on the IWAE bound with k = 5 (Burda et
al.: 85.54 nats against the VAE's 86.76 at their budget; here a third of the ELBO's datapoints per second),
minibatches of M = 100, Adam at 1e-3 on a cosine schedule over the budget (the constant step size had
flattened at −89.8 nats after 360 passes), dynamically binarised MNIST, and the weights of the best bound on
MNIST's 10 000 validation digits, judged every 500 000 datapoints. The
figure is log p(x) by importance sampling with k = 5000 on all 10 000 test digits binarised once (seed 0).

The budget is datapoints, or hours ("2h"): then a short trial measures this machine's datapoints per second
and the run's budget in datapoints is fixed from it when the run starts (config.json keeps it, so a resumed
run keeps its schedule). Writes OUT/run/ (an ordinary run directory), OUT/mnist-likelihood.md; runs resume.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

from .. import datasets
from ..datasets.binarization import fixed_draw
from ..errors import InputError
from ..estimators.importance import importance_sampling
from ..io.checkpoint import read_config
from ..io.files import write_bytes_atomic
from ..io.run_directory import CONFIG_FILE, EVALUATION_SEED, TEST_BINARIZATION_SEED
from ..model import VAE
from ..training import TrainConfig, train
from . import runs

DEFAULT_BUDGET = 40_000_000          # datapoints: 800 passes, about 65 minutes alone on 2 AVX-512 cores
MODEL = dict(latent_dim=50, hidden=(200, 200), activation="tanh", likelihood="bernoulli")
RECIPE = dict(objective="iwae", k=5, batch_size=100, optimizer="adam", lr=1e-3, lr_schedule="cosine",
              eval_every=500_000, binarize="dynamic", seed=0)
EVALUATION_K = 5000
TRIAL_DATAPOINTS = 100_000          # of a trial that measures the datapoints per second of an hours budget
EVALUATION_SHARE = 0.1               # of an hours budget, kept for the evaluations and the final estimate
# Published test NLLs (nats), one stochastic layer, dynamically binarised MNIST, k = 5000, and their compute.
PUBLISHED = [("VAE, k = 1 (Burda et al. 2015)", 86.76, "3,280 passes, M = 20"),
             ("VAE, k = 5 (Burda et al. 2015)", 86.47, "3,280 passes, M = 20"),
             ("VAE, k = 50 (Burda et al. 2015)", 86.35, "3,280 passes, M = 20"),
             ("IWAE, k = 5 (Burda et al. 2015)", 85.54, "3,280 passes, M = 20"),
             ("IWAE, k = 50 (Burda et al. 2015)", 84.78, "3,280 passes, M = 20"),
             ("VampPrior, K = 500 (Tomczak & Welling 2018)", 85.57, "as in the paper"),
             ("PIWAE (Rainforth et al. 2018)", 84.46, "as in the paper")]


def run(out: Path, budget: int | str = DEFAULT_BUDGET, data_dir=None, jobs: int = 1, progress: bool = True,
        log=print, evaluation: tuple[int, int] | None = None) -> Path:
    """`budget`: datapoints, or hours as "2h". `evaluation` = (test digits, k); default (10 000, 5000)."""
    points, evaluation_k = evaluation or (10_000, EVALUATION_K)
    planned = _plan(out, _datapoints(out, budget, data_dir, log), data_dir)
    runs.complete([planned], jobs, progress, log)
    test = fixed_draw(datasets.load("mnist", data_dir=data_dir, log=log).test[:points], TEST_BINARIZATION_SEED)
    row = runs.score(planned, f"test-log-likelihood-k{evaluation_k}-n{points}",
                     lambda model: _log_likelihood(model, test, evaluation_k))
    log(f"test log p(x) {row['log_likelihood']:.2f} ± {row['log_likelihood_stderr']:.2f} nats (k = {evaluation_k}, "
        f"{points:,} digits)")
    write_bytes_atomic(out / "mnist-likelihood.md", _summary(row, read_config(planned.directory)).encode())
    return out


def _plan(out: Path, budget: int, data_dir) -> runs.PlannedRun:
    config = TrainConfig(data="mnist", data_dir=None if data_dir is None else str(data_dir), epochs=None,
                         max_samples=budget, **RECIPE)
    return runs.PlannedRun(out / "run", config, MODEL, {"recipe": "iwae-k5-cosine"})


def _datapoints(out: Path, budget: int | str, data_dir, log) -> int:
    """The run's budget in datapoints: as given, as its config.json recorded it, or measured from hours."""
    if budget == "paper":
        raise InputError("mnist-likelihood has no paper's budget: give datapoints (e.g. 6e7) or hours (e.g. 2h)")
    if not (isinstance(budget, str) and budget.endswith("h")):
        return int(budget)
    if (out / "run" / CONFIG_FILE).exists():
        return read_config(out / "run")["train"]["max_samples"]
    rate = _datapoints_per_second(data_dir)
    hours = float(budget[:-1])
    datapoints = int(rate * hours * 3600 * (1 - EVALUATION_SHARE)) // RECIPE["batch_size"] * RECIPE["batch_size"]
    log(f"{hours:g} hours at {rate:,.0f} datapoints per second (measured here): a budget of {datapoints:,}")
    return datapoints


def _datapoints_per_second(data_dir) -> float:
    """The recipe's datapoints per second on this machine: a trial run in memory on 5 000 digits."""
    mnist = datasets.load("mnist", data_dir=data_dir, log=lambda *a: None)
    digits = dataclasses.replace(mnist, train=mnist.train[:5000], valid=None, test=None, locator=None)
    config = TrainConfig(epochs=None, max_samples=TRIAL_DATAPOINTS, validation_fraction=0,
                         **{**RECIPE, "eval_every": TRIAL_DATAPOINTS})
    torch.manual_seed(0)
    started = time.perf_counter()
    train(VAE(digits.data_dim, **MODEL), digits, config, progress=False, log=lambda *a: None)
    return TRIAL_DATAPOINTS / (time.perf_counter() - started)


def _log_likelihood(model, test: torch.Tensor, k: int) -> dict:
    summary = importance_sampling(model, test, k=k, seed=EVALUATION_SEED).summary()
    return {"log_likelihood": summary["log_likelihood"], "log_likelihood_stderr": summary["log_likelihood_stderr"],
            "n": summary["n"], "k": k, "cpu": torch.backends.cpu.get_cpu_capability()}


def _summary(row: dict, document: dict) -> str:
    train = document["train"]
    lines = ["# The MNIST likelihood on a CPU", "",
             f"aevb's recipe: 784-200-200-50 tanh, IWAE k = 5, M = {train['batch_size']}, Adam {train['lr']:g} "
             f"({train['lr_schedule']}), {train['max_samples']:,} datapoints ({train['max_samples'] / 50_000:,.0f} "
             f"passes), the best weights on the validation digits. Test NLL in nats (lower is better), importance "
             f"sampling with k = {row['k']} on {row['n']:,} test digits binarised once; ± one standard error.", "",
             "| model | test NLL | compute |", "|---|---|---|",
             f"| aevb (this run) | {-row['log_likelihood']:.2f} ± {row['log_likelihood_stderr']:.2f} | "
             f"{train['max_samples'] / 50_000:,.0f} passes, M = {train['batch_size']}, CPU {row['cpu']} |"]
    lines += [f"| {name} | {nll} | {compute} |" for name, nll, compute in PUBLISHED]
    return "\n".join(lines) + "\n"
