"""`aevb reproduce` end to end at tiny budgets, and resumed to larger ones."""

import csv
import json
import math
import subprocess
import sys

import pytest
import torch
from matplotlib.image import imread
from titled_grid import assert_titled_grid

from aevb.experiments import density_table, figure3, iwae_table, mnist_likelihood


def reproduce(*args, experiment="figure2"):
    result = subprocess.run([sys.executable, "-m", "aevb", "reproduce", experiment, "--quiet", *map(str, args)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    return result


def rows(out):
    with open(out / "figure2" / "figure2.csv") as f:
        return list(csv.DictReader(f))


def test_figure2_runs_end_to_end_and_resumes(tmp_path):
    reproduce("--budget", 200, "--out", tmp_path, "--jobs", 2)           # two worker processes
    first = rows(tmp_path)
    runs = {(r["method"], r["latent_dim"]) for r in first}
    assert runs == {(m, str(n)) for m in ("AEVB", "wake-sleep") for n in (3, 5, 10, 20, 200)}
    assert all(int(r["samples_seen"]) == 200 for r in first)
    summary = (tmp_path / "figure2" / "figure2.md").read_text()
    assert "| mnist | 20 |" in summary and "≈-97 / ≈-99.5" in summary
    assert imread(tmp_path / "figure2" / "figure2.png").shape[1] > 1000     # five panels side by side

    reproduce("--budget", 1200, "--out", tmp_path)                        # resumes every run from 200
    second = rows(tmp_path)
    assert all(r in second for r in first)                                  # the first evaluations are kept
    finals = [r for r in second if int(r["samples_seen"]) >= 1200]
    assert len(finals) == 10
    assert {r["samples_seen"] for r in second} >= {"1000", "1200"}          # the log-spaced point, then the end


def test_figure3_runs_end_to_end_and_continues(tmp_path):
    quiet = dict(progress=False, log=lambda *a: None, evaluation=(10, 5))      # 10 points, 5 HMC draws
    figure3.run(tmp_path, budget=400, **quiet)             # stages 40, 126, 400: trained to 100, 200, 400 (M = 100)
    with open(tmp_path / "figure3.csv") as f:
        first = list(csv.DictReader(f))
    assert {(r["n_train"], r["method"]) for r in first} == {(str(n), m) for n in (1000, 50000)
                                                             for m in ("AEVB", "wake-sleep", "MCEM")}
    assert sorted({int(r["samples_seen"]) for r in first}) == [100, 200, 400]
    assert all(-800 < float(r["test_log_likelihood"]) < -50 for r in first)
    summary = (tmp_path / "figure3.md").read_text()
    assert "| 1,000 | MCEM |" in summary and "≈-109.5 / ≈-141.5" in summary

    figure3.run(tmp_path, budget=1000, **quiet)           # stages 100 and 316 lie behind the runs: only 1000 is new
    for method in ("AEVB", "MCEM"):
        estimates = json.loads((tmp_path / f"n1000-{method}" / "marginal_likelihoods.json").read_text())
        assert [row["samples_seen"] for row in estimates] == [100, 200, 400, 1000]


def test_figures_4_and_5_draw_every_model(tmp_path):
    reproduce("--budget", 200, "--out", tmp_path, experiment="figure4")
    assert_titled_grid(tmp_path / "figure4" / "mnist-nz2.png", 20, 20, height=28, width=28)   # 20 × 20 digits
    reproduce("--budget", 200, "--out", tmp_path, experiment="figure5")
    summary = (tmp_path / "figure5" / "figure5.md").read_text()
    for latent_dim in (2, 5, 10, 20):
        assert f"| mnist | {latent_dim} | ![mnist-nz{latent_dim}.png]" in summary
        assert_titled_grid(tmp_path / "figure5" / f"mnist-nz{latent_dim}.png", 10, 10, height=28, width=28)


def test_iwae_table_trains_six_models_and_scores_each_once(tmp_path):
    quiet = dict(progress=False, log=lambda *a: None, evaluation=(50, 200))
    iwae_table.run(tmp_path, budget=400, **quiet)
    with open(tmp_path / "iwae-table.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["method"], r["k"]) for r in rows] == [(m, str(k)) for m in ("VAE", "IWAE") for k in (1, 5, 50)]
    assert all(100 < float(r["nll"]) < 600 and r["samples_seen"] == "400" for r in rows)
    assert "| IWAE | 50 |" in (tmp_path / "iwae-table.md").read_text()
    score = tmp_path / "iwae-k50" / "test-nll-k200-n50.json"
    written = score.stat().st_mtime_ns
    iwae_table.run(tmp_path, budget=400, **quiet)                  # nothing to train, nothing to estimate again
    assert score.stat().st_mtime_ns == written


def test_mnist_likelihood_trains_its_recipe_for_hours_measured_here_and_keeps_that_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_likelihood, "TRIAL_DATAPOINTS", 1000)        # a short trial of the speed
    quiet = dict(progress=False, log=lambda *a: None, evaluation=(50, 20))
    mnist_likelihood.run(tmp_path, budget="0.0002h", **quiet)               # 0.72 s: a few thousand datapoints
    config = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert config["objective"] == "iwae" and config["k"] == 5 and config["lr_schedule"] == "cosine"
    assert config["max_samples"] % 100 == 0 and config["max_samples"] > 0
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["samples_seen"] == config["max_samples"] and "validation_elbo" in rows[-1]
    summary = (tmp_path / "mnist-likelihood.md").read_text()
    assert "| aevb (this run) |" in summary and "| IWAE, k = 5 (Burda et al. 2015) | 85.54 |" in summary
    score = json.loads((tmp_path / "run" / "test-log-likelihood-k20-n50.json").read_text())
    assert -600 < score["log_likelihood"] < -100 and score["n"] == 50
    mnist_likelihood.run(tmp_path, budget="5h", **quiet)          # the budget measured when it started stands
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["max_samples"] == config["max_samples"]


def test_density_table_puts_each_vae_beside_its_mixture(tmp_path):
    density_table.run(tmp_path, budget=300, progress=False, log=lambda *a: None, evaluation=(20, 50),
                      mixture_rows=300)
    with open(tmp_path / "density-table.csv") as f:
        rows = {r["model"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"Gaussian VAE", "Bernoulli VAE", "IWAE (k = 5)", "GaussianMixture (K = 10, full)",
                         "Bernoulli mixture (K = 100, EM)"}
    for binary in ("Bernoulli VAE", "IWAE (k = 5)", "Bernoulli mixture (K = 100, EM)"):
        assert -800 < float(rows[binary]["log_likelihood"]) < 0       # log-probabilities of 784 bits
    # Bits per dimension follow from the density: −(log p − 784 log 256) / (784 ln 2).
    vae = rows["Gaussian VAE"]
    expected = -(float(vae["log_likelihood"]) - 784 * math.log(256)) / (784 * math.log(2))
    assert abs(float(vae["bits_per_dim"]) - expected) < 1e-9


@pytest.mark.parametrize("steps", [256, 255])      # the classic MNIST file stores k/256, the IDX files k/255
def test_dequantisation_keeps_each_grey_level_in_its_own_bin(steps):
    levels = torch.arange(256, dtype=torch.float32).repeat(40)[None]                   # [1, 10240], every k
    y = density_table.dequantised(levels / steps, seed=0)
    assert torch.equal(torch.floor(256 * y), levels)                                    # (k + u)/256, 0 ≤ u < 1
    assert abs(float((256 * y - levels).mean()) - 0.5) < 4 * math.sqrt(1 / 12 / 10240)
    with pytest.raises(ValueError, match="not 8-bit intensities"):
        density_table.dequantised(levels / 300, seed=0)
