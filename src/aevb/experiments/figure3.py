"""The paper's Figure 3: AEVB, wake-sleep and Monte Carlo EM, estimated marginal likelihood against
training datapoints seen, on a small training set (N_train = 1000) and the full one (50 000).

MNIST, Nz = 3, one hidden layer of 100 tanh units, the paper's initialisation, Adagrad 0.02, M = 100,
L = 1, MAP weight prior, MNIST treated as in `figure2` (grey intensities). MCEM as `aevb.baselines.mcem`
(one HMC transition of 10 leapfrog steps per E-step, 5 updates of θ). Training stops at a few stages
budget·10^(−j/2); at each, log p(x) is estimated by the paper's own estimator (Appendix D,
`marginal_likelihood_hmc`) on the first training and test points: 1000 of each with 500 HMC draws after
500 burn-in at `--budget paper`, 100 with 50 after 50 otherwise, so that the default run fits in 15
minutes here (`evaluation=(points, draws)` sets them from Python). Every run is a run directory under
OUT with its estimates in marginal_likelihoods.json; a second call continues. Writes OUT/figure3.csv, .png and .md.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .. import datasets
from ..apps.pictures import method_panels_png
from ..baselines import mcem
from ..datasets.binarization import BINARIZATIONS
from ..estimators.hmc_marginal_likelihood import marginal_likelihood_hmc
from ..io.files import write_bytes_atomic, write_csv, write_json_atomic
from ..io.run_directory import EVALUATION_SEED, TEST_BINARIZATION_SEED, read_metrics
from ..model import VAE, load
from ..randomness import seeded
from ..training import TrainConfig
from . import figure2, runs

DEFAULT_BUDGET = 100_000                       # datapoints per run
PAPER_BUDGET = 60_000_000                      # the paper's runs: 6·10⁷ (N = 1000) and ≈6.8·10⁷ (N = 50 000)
TRAINING_SIZES = (1000, 50_000)
METHODS = ("AEVB", "wake-sleep", "MCEM")
OBJECTIVES = {"AEVB": "elbo", "wake-sleep": "wake-sleep"}
MODEL = dict(latent_dim=3, hidden=(100,), activation="tanh", init="paper", likelihood="bernoulli")
ESTIMATES_FILE = "marginal_likelihoods.json"
# docs/protocols.md §3, read off the paper's Figure 3 at the end of training: (train, test) marginal log-likelihood.
PAPER = {1000: {"AEVB": (-109, -143), "wake-sleep": (-125.5, -145), "MCEM": (-109.5, -141.5)},
         50_000: {"AEVB": (-131, -138), "wake-sleep": (-137, -141), "MCEM": (-147, -148.5)}}


def stages(budget: int, paper: bool) -> list[int]:
    """Where training pauses for an estimate: budget·10^(−j/2), oldest first."""
    count = 7 if paper else 3
    return sorted({round(budget * 10 ** (-j / 2)) for j in range(count)})


def run(out: Path, budget: int | str = DEFAULT_BUDGET, data_dir=None, jobs: int = 1, progress: bool = True,
        log=print, evaluation: tuple[int, int] | None = None) -> Path:
    paper = budget == "paper"
    samples = PAPER_BUDGET if paper else int(budget)
    points, hmc_draws = evaluation or ((1000, 500) if paper else (100, 50))
    data = datasets.load("mnist", data_dir=data_dir, log=log)
    binarization = BINARIZATIONS[figure2.MNIST_BINARIZATION]
    evaluation_sets = {"train": binarization.fixed(data.train[:points], TEST_BINARIZATION_SEED),
                       "test": binarization.fixed(data.test[:points], TEST_BINARIZATION_SEED)}
    planned = {(n, method): _plan(out, n, method, samples, data_dir) for n in TRAINING_SIZES for method in METHODS}
    for stage in stages(samples, paper):
        log(f"figure 3: training to {stage:,} datapoints per run")
        runs.complete([p.with_budget(stage) for (n, method), p in planned.items() if method != "MCEM"],
                      jobs, progress, log)
        for n in TRAINING_SIZES:
            _mcem(planned[(n, "MCEM")].directory, data.train[:n], stage)
        for planned_run in planned.values():
            _estimate(planned_run, evaluation_sets, hmc_draws, log)
    records = [{**planned_run.labels, **row} for planned_run in planned.values()
               for row in _estimates(planned_run.directory)]
    write_csv(out / "figure3.csv", records, ["n_train", "method", "samples_seen", "train_log_likelihood",
                                             "test_log_likelihood"])
    write_bytes_atomic(out / "figure3.png", _plot(records))
    write_bytes_atomic(out / "figure3.md", _summary(records, samples, points, hmc_draws).encode())
    return out


def _plan(out: Path, n: int, method: str, budget: int, data_dir) -> runs.PlannedRun:
    config = TrainConfig(data="mnist", data_dir=None if data_dir is None else str(data_dir),
                         binarize=figure2.MNIST_BINARIZATION, objective=OBJECTIVES.get(method, "elbo"),
                         optimizer="adagrad", weight_prior=True, n_train=n, epochs=None, max_samples=budget,
                         eval_every=budget, seed=0)
    return runs.PlannedRun(out / f"n{n}-{method}", config, MODEL, {"n_train": n, "method": method})


def _mcem(directory: Path, train: torch.Tensor, budget: int) -> None:
    torch.manual_seed(0)
    mcem.fit(directory, VAE(train.shape[1], **MODEL), train, budget, binarize=figure2.MNIST_BINARIZATION)


def _estimates(directory: Path) -> list[dict]:
    file = directory / ESTIMATES_FILE
    return json.loads(file.read_text()) if file.is_file() else []


def _estimate(planned_run: runs.PlannedRun, evaluation_sets: dict, hmc_draws: int, log) -> None:
    """log p(x) of the run as it stands, unless it was estimated at this point already (a run trained
    past a stage by an earlier, larger call is estimated where it is)."""
    directory = planned_run.directory
    seen = (mcem.samples_seen(directory) if planned_run.labels["method"] == "MCEM"
            else read_metrics(directory)[-1]["samples_seen"])
    done = _estimates(directory)
    if any(row["samples_seen"] == seen for row in done):
        return
    model = load(directory)
    row = {"samples_seen": seen}
    with seeded(EVALUATION_SEED, torch.device("cpu")):
        for split, x in evaluation_sets.items():
            row[f"{split}_log_likelihood"] = marginal_likelihood_hmc(
                model, x, n_samples=hmc_draws, burn_in=hmc_draws).mean().item()
    log(f"  {directory.name} at {seen:,}: log p(x) train {row['train_log_likelihood']:.1f}, "
        f"test {row['test_log_likelihood']:.1f}")
    write_json_atomic(directory / ESTIMATES_FILE, done + [row])


def _plot(records: list[dict]) -> bytes:
    panels = [(f"MNIST, $N_z$ = 3, $N_{{train}}$ = {n:,}",
               {method: [r for r in records if r["n_train"] == n and r["method"] == method] for method in METHODS},
               None) for n in TRAINING_SIZES]
    return method_panels_png(panels, "train_log_likelihood", "test_log_likelihood", "marginal log-likelihood (nats)",
                             {"AEVB": "tab:red", "wake-sleep": "tab:blue", "MCEM": "tab:green"}, width=4.5,
                             marker="o")


def _summary(records: list[dict], budget: int, points: int, hmc_draws: int) -> str:
    lines = ["# Figure 3: AEVB, wake-sleep and Monte Carlo EM", "",
             f"Budget {budget:,} datapoints per run; MNIST grey intensities in the Bernoulli likelihood (as figure2); "
             f"Nz = 3, 100 tanh units, Adagrad 0.02, M = 100, MAP weight prior. log p(x) by the paper's Appendix D "
             f"estimator ({hmc_draws} HMC draws after {hmc_draws} burn-in) on the first {points} training and test "
             "points.",
             "The paper's values are read off its Figure 3 after 6·10⁷ (N = 1000) and ≈6.8·10⁷ (N = 50 000) "
             "datapoints (docs/protocols.md §3).", "",
             "| N_train | method | ours: train / test | paper: train / test | samples |", "|---|---|---|---|---|"]
    for n in TRAINING_SIZES:
        for method in METHODS:
            rows = [r for r in records if r["n_train"] == n and r["method"] == method]
            ours = (f"{rows[-1]['train_log_likelihood']:.1f} / {rows[-1]['test_log_likelihood']:.1f}"
                    if rows else "—")
            train_value, test_value = PAPER[n][method]
            lines.append(f"| {n:,} | {method} | {ours} | ≈{train_value} / ≈{test_value} | "
                         f"{rows[-1]['samples_seen'] if rows else 0:,} |")
    return "\n".join(lines) + "\n"
