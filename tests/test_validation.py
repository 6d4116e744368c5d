"""Training until it is good: the validation split, early stopping with the best weights kept, the schedules
of the step size and of β, and the budget small data gets by default."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from sklearn.datasets import load_breast_cancer

import aevb
from aevb import datasets
from aevb.datasets import dataset as dataset_module
from aevb.estimators.bound import evaluate_elbo
from aevb.io.checkpoint import read_tensors
from aevb.sklearn import VariationalAutoencoder
from aevb.training import checkpointing
from aevb.training.schedules import PLATEAU_PATIENCE, Where, kl_weight, step_size

SMALL = dict(hidden=(32,), latent_dim=4)


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def run(digits, out, **options):
    config = aevb.TrainConfig(data="digits", **{"epochs": 4, **options})
    torch.manual_seed(0)
    return aevb.train(aevb.VAE(digits.data_dim, **SMALL), digits, config, out, progress=False, log=lambda *a: None)


def metrics(out):
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("seconds", "evaluation_seconds")} for row in rows]


def where(samples_seen, step=0, budget=1000, n_train=100, lr_reductions=0):
    return Where(step, samples_seen, budget, n_train, lr_reductions)


def test_each_schedule_gives_the_step_size_it_names():
    assert step_size(1e-3, "constant", 0, where(500)) == 1e-3
    assert [step_size(1.0, "cosine", 0, where(s)) for s in (0, 500, 1000)] == pytest.approx([1, 0.5, 0], abs=1e-15)
    # Burda et al.: stage i lasts 3^i passes at 10^(−i/7); stages end after 1, 4, 13, 40, ... passes.
    for passes, stage in ((0, 0), (0.99, 0), (1, 1), (3.99, 1), (4, 2), (12.99, 2), (13, 3), (3279.9, 7), (3280, 8)):
        assert step_size(1.0, "iwae", 0, where(round(passes * 100), budget=10**6)) == pytest.approx(10 ** (-stage / 7))
    assert step_size(1.0, "plateau", 0, where(0, lr_reductions=3)) == 0.125
    # Warm-up: lr/W at the first step, rising linearly, lr from step W − 1 on, on top of the schedule.
    assert [step_size(1.0, "constant", 4, where(0, step=s)) for s in (0, 1, 3, 10)] == [0.25, 0.5, 1, 1]
    assert [kl_weight(2.0, 10, s) for s in (0, 5, 10, 20)] == [0, 1, 2, 2]
    assert kl_weight(2.0, 0, 0) == 2.0


def test_a_run_steps_with_its_schedule_and_its_kl_weight(digits, tmp_path):
    run(digits, tmp_path / "cosine", lr_schedule="cosine", lr_warmup=5, epochs=2)
    _, metadata = read_tensors(tmp_path / "cosine" / "checkpoint.safetensors", "aevb.checkpoint")
    last_lr = json.loads(metadata["state"])["optimizer"]["param_groups"][0]["lr"]
    assert last_lr == 0.0                                       # ½(1 + cos π) after the budget's last step
    # KL warm-up: β = 0 at the first step gives the first step of the autoencoder-with-noise objective, so the
    # first steps differ from a run without warm-up, and a run with β warming up ends elsewhere.
    plain, warming = run(digits, tmp_path / "plain", epochs=1), run(digits, tmp_path / "warm", kl_warmup=100, epochs=1)
    assert not torch.equal(plain.encoder[0].weight, warming.encoder[0].weight)
    with pytest.raises(aevb.InputError, match="kl_warmup=10 weighs the KL term"):
        aevb.TrainConfig(objective="iwae", kl_warmup=10)


def test_the_validation_split_is_the_datas_own_or_a_seeded_fraction_of_the_training_rows(digits, monkeypatch):
    assert torch.equal(digits.with_validation(None).valid, digits.valid)      # digits' own 297 images
    assert digits.with_validation(0).valid is None
    table = aevb.datasets.Dataset("t", torch.arange(200.0).reshape(100, 2), None, None, None, "columns", "rows")
    split = table.with_validation(None)
    assert (len(split.train), len(split.valid)) == (90, 10)
    rows = torch.cat([split.train, split.valid])[:, 0].sort().values
    assert torch.equal(rows, torch.arange(0.0, 200.0, 2))                     # disjoint, and every row kept
    assert torch.equal(table.with_validation(None).valid, split.valid)        # the same rows every time
    assert not torch.equal(split.valid, table.train[-10:])                    # a random choice
    assert len(table.with_validation(0.25).valid) == 25
    monkeypatch.setattr(dataset_module, "MAPPED_BYTES", 100)                  # as if the rows were mapped: a
    mapped = table.with_validation(None)                                      # view of the last rows, no copy
    assert torch.equal(mapped.valid, table.train[90:]) and mapped.valid.data_ptr() == table.train[90].data_ptr()
    with pytest.raises(aevb.InputError, match="validation_fraction=1.5 must lie in"):
        table.with_validation(1.5)


def test_early_stopping_keeps_the_best_weights_and_stops_by_itself(digits, tmp_path):
    """`aevb train --data digits --early-stopping 5 --epochs 2000`: the issue's own command."""
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "aevb", "train", "--data", "digits", "--early-stopping", "5",
                           "--epochs", "2000", "--out", str(out)], capture_output=True, text=True, check=True)
    rows = metrics(out)
    assert rows[-1]["epoch"] < 2000
    assert "early stopping: 5 evaluations in a row without a better validation bound" in done.stdout
    bounds = [r["validation_elbo"] for r in rows]
    best = len(rows) - 1 - 5                              # the last better one (by 0.01 nats), five evaluations back
    assert bounds[best] > max(bounds[:best]) + 0.01 and max(bounds[best + 1:]) <= bounds[best] + 0.01
    assert f"at step {rows[best]['step']:,} " in done.stdout
    # model.safetensors holds the best weights; the checkpoint the last ones; the best score better on the
    # validation rows (the evaluations' own fixed binarisation and noise).
    best_model = aevb.load(out)
    last_model = aevb.load(out)
    last_model.load_state_dict({k[len("model."):]: v for k, v in load_file(str(out / "checkpoint.safetensors")).items()
                                if k.startswith("model.")})
    valid = aevb.datasets.binarization.BINARIZATIONS["dynamic"].fixed(digits.valid, 0)
    best_bound, last_bound = (evaluate_elbo(m, valid, seed=1234).mean for m in (best_model, last_model))
    assert best_bound == pytest.approx(bounds[best], abs=1e-9) and last_bound == pytest.approx(bounds[-1], abs=1e-9)
    assert best_bound > last_bound                       # measured: −24.13 against −24.16 (seed 0)


def test_a_run_killed_while_it_waits_out_its_patience_resumes_bit_for_bit(digits, tmp_path, monkeypatch):
    options = dict(early_stopping=3, min_improvement=0.5, lr_schedule="plateau", epochs=60)
    whole = run(digits, tmp_path / "whole", **options)
    whole_rows = metrics(tmp_path / "whole")
    assert whole_rows[-1]["epoch"] < 60                                      # it stopped early
    save = checkpointing.save

    def killed_while_waiting(model, optimizer, state, best, out):
        save(model, optimizer, state, best, out)
        if state.evaluations_since_best == 2:                                # one evaluation short of stopping
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpointing, "save", killed_while_waiting)
    with pytest.raises(KeyboardInterrupt):
        run(digits, tmp_path / "killed", **options)
    monkeypatch.undo()
    resumed = aevb.resume(tmp_path / "killed", progress=False, log=lambda *a: None)
    assert all(torch.equal(a, b) for a, b in zip(resumed.state_dict().values(), whole.state_dict().values()))
    assert metrics(tmp_path / "killed") == whole_rows
    assert same_tensors(tmp_path / "killed", tmp_path / "whole")
    # A stopped run stays stopped: resuming it trains nothing and writes its files from its checkpoint again.
    (tmp_path / "killed" / "model.safetensors").unlink()
    aevb.resume(tmp_path / "killed", progress=False, log=lambda *a: None)
    assert metrics(tmp_path / "killed") == whole_rows
    assert same_tensors(tmp_path / "killed", tmp_path / "whole")


def same_tensors(run, other):
    """Whether two runs hold the same weights, best weights, optimiser and generator states."""
    for name in ("model.safetensors", "checkpoint.safetensors"):
        ours, theirs = load_file(str(run / name)), load_file(str(other / name))
        if ours.keys() != theirs.keys() or not all(torch.equal(ours[k], theirs[k]) for k in ours):
            return False
    return True


def test_the_plateau_schedule_halves_the_step_size_after_evaluations_without_progress(digits, tmp_path):
    run(digits, tmp_path / "run", lr_schedule="plateau", min_improvement=1.0, epochs=12)
    _, metadata = read_tensors(tmp_path / "run" / "checkpoint.safetensors", "aevb.checkpoint")
    state = json.loads(metadata["state"])
    waited = state["progress"]["evaluations_since_best"]
    assert state["progress"]["lr_reductions"] >= waited // PLATEAU_PATIENCE
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * 0.5 ** state["progress"]["lr_reductions"])


def test_watching_needs_a_validation_split(digits, tmp_path):
    with pytest.raises(aevb.InputError, match="early stopping watches the validation bound"):
        run(digits, tmp_path / "run", early_stopping=3, validation_fraction=0)
    assert not (tmp_path / "run").exists()


def test_the_estimator_stops_early_with_scikit_learns_names():
    X = load_breast_cancer().data
    X = (X - X.mean(0)) / X.std(0)
    est = VariationalAutoencoder(random_state=0).fit(X)                      # 569 rows: early stopping is on
    assert est.n_iter_ < 1000 and len(est.validation_scores_) == est.n_iter_   # it stopped by itself
    assert est.best_validation_score_ == max(est.validation_scores_)
    small = VariationalAutoencoder(epochs=3, random_state=0).fit(X[:100])       # "auto": off below 200 rows
    assert small.validation_scores_ is None and small.best_validation_score_ is None and small.n_iter_ == 3


def test_a_folder_of_colour_images_trains_until_it_stops_improving_and_reconstructs_in_colour(tmp_path):
    rng = np.random.default_rng(0)
    colours = np.array([[230, 40, 40], [40, 200, 60], [50, 80, 230], [240, 220, 40]], np.uint8)
    (tmp_path / "shapes").mkdir()
    for i in range(200):                                  # a coloured square on black, anywhere
        image = np.zeros((8, 8, 3), np.uint8)
        r, c = rng.integers(0, 5, size=2)
        image[r:r + 4, c:c + 4] = colours[rng.integers(len(colours))]
        Image.fromarray(image).save(tmp_path / "shapes" / f"{i:03d}.png")
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "aevb", "train", "--data", str(tmp_path / "shapes"), "--out", str(out)],
                          capture_output=True, text=True, check=True)
    assert "budget: until 10 evaluations in a row" in done.stdout
    config = json.loads((out / "config.json").read_text())["train"]
    assert config["early_stopping"] == 10 and config["epochs"] == 1000
    model = aevb.load(out)
    test = aevb.datasets.load(str(tmp_path / "shapes")).test                # [20, 3·8·8]
    with torch.no_grad():
        means = model.decode(model.encode(test).base_dist.loc).mean
    colour_of = lambda x: x.reshape(len(x), 3, 64).sum(2) / x.reshape(len(x), 3, 64).sum((1, 2))[:, None]  # noqa: E731
    # The share of each channel in an image's light: right within 0.1 for every test image (grey would be ⅓ each).
    assert (colour_of(means) - colour_of(test)).abs().max() < 0.1


def test_a_run_killed_for_real_while_waiting_resumes_with_the_command_to_the_same_run(tmp_path):
    """SIGKILL of `aevb train` at some moment after a checkpoint that was waiting out its patience, then
    `aevb train --resume`: the same metrics and the same weights as the run never killed."""
    options = ["--data", "digits", "--hidden", "32", "--latent-dim", "4", "--early-stopping", "20",
               "--min-improvement", "0.5", "--epochs", "300", "--quiet"]
    subprocess.run([sys.executable, "-m", "aevb", "train", *options, "--out", str(tmp_path / "whole")], check=True)
    killed = subprocess.Popen([sys.executable, "-m", "aevb", "train", *options, "--out", str(tmp_path / "killed")])
    checkpoint = tmp_path / "killed" / "checkpoint.safetensors"
    while killed.poll() is None:
        try:
            _, metadata = read_tensors(checkpoint, "aevb.checkpoint")
        except aevb.InputError:                          # not written yet
            continue
        if json.loads(metadata["state"])["progress"]["evaluations_since_best"] >= 2:
            killed.kill()
    assert killed.wait() == -9, "the run ended before it could be killed while waiting"
    subprocess.run([sys.executable, "-m", "aevb", "train", "--resume", str(tmp_path / "killed"), "--quiet"], check=True)
    assert metrics(tmp_path / "killed") == metrics(tmp_path / "whole")
    assert same_tensors(tmp_path / "killed", tmp_path / "whole")
