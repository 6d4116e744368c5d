"""Every verb of the `aevb` command, run as a real process, as a user would."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from titled_grid import assert_titled_grid

import aevb as library

TINY = ["--data", "digits", "--hidden", "32", "--latent-dim", "2", "--quiet"]


def aevb(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "aevb", *map(str, args)], capture_output=True, text=True,
                            timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"aevb {' '.join(map(str, args))} failed:\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    aevb("train", *TINY, "--epochs", 3, "--out", out)
    return out


def test_every_verb_has_help(capsys):
    """Every verb the parser knows (`aevb train --help` through the real command, the others through the
    same entry point in this process): a usage line, a description, and a help text for each option."""
    from aevb.cli import build_parser, main

    assert "usage: aevb train" in aevb("train", "--help").stdout
    verbs = next(action for action in build_parser()._subparsers._group_actions).choices
    assert len(verbs) >= 18
    for verb, parser in verbs.items():
        with pytest.raises(SystemExit) as stopped:
            main([verb, "--help"])
        assert stopped.value.code == 0 and "usage: aevb " + verb in capsys.readouterr().out and parser.description
        undocumented = [a.option_strings for a in parser._actions if a.option_strings and not a.help]
        assert not undocumented, f"aevb {verb}: options without help {undocumented}"


def test_train_writes_the_run_directory(trained):
    names = {p.name for p in trained.iterdir()}
    assert {"config.json", "model.safetensors", "checkpoint.safetensors", "metrics.jsonl", "samples.png"} <= names
    config = json.loads((trained / "config.json").read_text())
    assert config["model"]["hidden"] == [32] and config["model"]["latent_dim"] == 2
    assert config["train"]["data"] == "digits" and config["data"]["image_shape"] == [8, 8]
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1.0, 2.0, 3.0]
    assert set(rows[0]) == {"step", "samples_seen", "epoch", "train_elbo", "train_rows_evaluated", "validation_elbo",
                            "test_elbo", "seconds", "evaluation_seconds"}


def test_evaluate_reports_the_same_test_bound_as_training(trained, tmp_path):
    result = aevb("evaluate", trained, "--json", tmp_path / "eval.json")
    figures = json.loads((tmp_path / "eval.json").read_text())
    last = json.loads((trained / "metrics.jsonl").read_text().splitlines()[-1])
    assert figures["elbo"] == pytest.approx(last["test_elbo"], abs=1e-9)   # same model, data, seed and binarisation
    assert figures["n"] == 300 and figures["split"] == "test" and figures["elbo_stderr"] > 0
    assert "ELBO (estimator B, L = 1)" in result.stdout and "pass --k 5000" in result.stdout


def test_evaluate_names_posterior_collapse_when_latent_dimensions_are_unused(tmp_path):
    aevb("train", "--data", "digits", "--hidden", "32", "--latent-dim", 6, "--beta", 20, "--epochs", 3, "--quiet",
         "--out", tmp_path / "run")
    result = aevb("evaluate", tmp_path / "run", "--json", tmp_path / "e.json")
    figures = json.loads((tmp_path / "e.json").read_text())
    assert figures["active_units"] < 6
    assert f"posterior collapse: {6 - figures['active_units']} latent dimensions" in result.stdout


def test_evaluate_with_importance_sampling(trained, tmp_path):
    result = aevb("evaluate", trained, "--k", 50, "--hmc", 100, "--limit", 40, "--json", tmp_path / "e.json")
    figures = json.loads((tmp_path / "e.json").read_text())
    assert figures["n"] == 40 and figures["k"] == 50
    assert figures["log_likelihood"] > figures["elbo"]            # L_50 ≥ ELBO on average
    assert figures["gap"] == pytest.approx(figures["log_likelihood"] - figures["elbo"], abs=1e-6)
    assert figures["bits_per_dim"] == pytest.approx(-figures["log_likelihood"] / (64 * np.log(2)))
    assert 1 <= figures["ess_min"] <= figures["ess_mean"] <= 50
    assert "log p(x), importance sampled, k = 50" in result.stdout
    # Two estimators of the same log p(x) (Nz = 2): they agree within a few standard errors of their difference.
    assert abs(figures["log_likelihood_hmc"] - figures["log_likelihood"]) < 0.5


def test_sample_writes_a_picture_and_an_array(trained, tmp_path):
    aevb("sample", trained, "-n", 16, "--out", tmp_path / "s.png")
    assert_titled_grid(tmp_path / "s.png", 4, 4)                       # 4×4 images of 8×8 under a title
    aevb("sample", trained, "-n", 5, "--draw", "--out", tmp_path / "s.npy")
    array = np.load(tmp_path / "s.npy")
    assert array.shape == (5, 8, 8) and set(np.unique(array)) <= {0.0, 1.0}


def test_train_on_a_user_file_with_a_sample_budget(tmp_path):
    np.save(tmp_path / "points.npy", np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32))
    aevb("train", "--data", tmp_path / "points.npy", "--binarize", "none", "--hidden", "none", "--latent-dim", "2",
         "--max-samples", "2e3", "--quiet", "--out", tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["likelihood"] == "columns" and config["model"]["hidden"] == []      # a table of numbers
    assert [c["type"] for c in config["model"]["columns"]] == ["real"] * 3
    seen = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])["samples_seen"]
    assert 2000 <= seen < 2000 + 100      # training stops at the first minibatch boundary past the budget
    result = aevb("sample", tmp_path / "run", "--out", tmp_path / "s.png", check=False)
    assert result.returncode == 2 and "use --out FILE.csv or FILE.npy" in result.stderr


def test_a_killed_run_resumes_to_the_same_weights_as_an_uninterrupted_one(tmp_path):
    budget = ["--epochs", 8, "--eval-every", 600]
    aevb("train", *TINY, *budget, "--out", tmp_path / "whole")
    process = subprocess.Popen([sys.executable, "-m", "aevb", "train", *TINY, *map(str, budget),
                                "--out", str(tmp_path / "killed")])
    checkpoint = tmp_path / "killed" / "checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    aevb("train", "--resume", tmp_path / "killed", "--quiet")
    killed, whole = (load_file(str(tmp_path / run / "model.safetensors")) for run in ("killed", "whole"))
    assert killed.keys() == whole.keys() and all(torch.equal(killed[k], whole[k]) for k in whole)   # bit for bit


def test_resume_refuses_settings_it_would_ignore(trained):
    result = aevb("train", "--resume", trained, "--latent-dim", "5", check=False)
    assert result.returncode == 2 and "drop --latent-dim" in result.stderr


def make_csv(folder):
    rows = np.random.default_rng(0).normal(size=(60, 4))
    (folder / "table.csv").write_text("a,b,c,d\n" + "\n".join(",".join(f"{v:.4f}" for v in row) for row in rows))
    return ["--data", folder / "table.csv"]


def make_images(folder):
    from PIL import Image

    (folder / "images").mkdir()
    rng = np.random.default_rng(0)
    for i in range(30):
        Image.fromarray(rng.integers(0, 256, size=(6, 5), dtype=np.uint8)).save(folder / "images" / f"{i}.png")
    return ["--data", folder / "images"]


def make_frey(folder):
    import scipy.io

    faces = np.random.default_rng(0).integers(0, 256, size=(560, 1965), dtype=np.uint8)
    scipy.io.savemat(folder / "frey_rawface.mat", {"ff": faces})
    return ["--data", "frey", "--data-dir", folder]


@pytest.mark.parametrize("make", [make_csv, make_images, make_frey])
def test_train_on_each_kind_of_data(tmp_path, make):
    aevb("train", *make(tmp_path), "--hidden", "8", "--latent-dim", "2", "--max-samples", 400, "--quiet",
         "--out", tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert config["train"]["binarize"] == "none"
    if make is make_frey:
        assert config["model"]["likelihood"] == "gaussian" and config["data"]["image_shape"] == [28, 20]
        assert (tmp_path / "run" / "samples.png").is_file()


def test_the_command_starts_without_importing_torch_dynamo(tmp_path):
    """torch.optim's first step and its decorated methods import torch._dynamo (over a second of start-up);
    the command trains without it, to the same weights as the library."""
    code = ("import sys, aevb.cli; aevb.cli.main(sys.argv[1:]); "
            "print('dynamo' if 'torch._dynamo' in sys.modules else 'no dynamo')")
    result = subprocess.run([sys.executable, "-c", code, "train", *TINY, "--max-samples", "300", "--out",
                             str(tmp_path / "cli")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("no dynamo")
    torch.manual_seed(0)
    data = library.datasets.load("digits")
    model = library.VAE(64, latent_dim=2, hidden=(32,))
    library.train(model, data, library.TrainConfig(data="digits", epochs=None, max_samples=300), tmp_path / "library",
               progress=False, log=lambda *a: None)
    saved = load_file(tmp_path / "cli" / "model.safetensors")
    assert all(torch.equal(saved[name], value) for name, value in model.state_dict().items())


def test_a_second_writer_of_a_run_is_refused_and_the_first_is_unharmed(tmp_path):
    run = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "aevb", "train", *TINY, "--epochs", "200", "--out", str(run)],
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "checkpoint.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = aevb("train", "--resume", run, "--epochs", 250, check=False)   # while the first trains (~15 s)
    third = aevb("train", *TINY, "--out", run, check=False)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert second.returncode == 2 and second.stderr.count("\n") == 1
    assert "is being trained by another process (pid" in second.stderr
    assert third.returncode == 2 and "already holds a run" in third.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["epochs"] == 200                                  # the refused resume changed nothing
    assert json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])["epoch"] == 200.0
    after = aevb("train", "--resume", run, "--epochs", 201)                # the lock went with the first process
    assert after.returncode == 0


def test_per_row_verbs_answer_every_row_in_the_input_order(tmp_path):
    """encode, score, reconstruct and sample on a headed CSV: one output row per input row, in order,
    each row's numbers its own (the same rows reversed give the same numbers reversed)."""
    make_csv(tmp_path)
    lines = (tmp_path / "table.csv").read_text().splitlines()
    lines.append("40,-40,40,-40")                                        # an outlier, the last row
    (tmp_path / "table.csv").write_text("\n".join(lines))
    (tmp_path / "reversed.csv").write_text("\n".join([lines[0], *reversed(lines[1:])]))
    aevb("train", "--data", tmp_path / "table.csv", "--hidden", "16", "--latent-dim", "2", "--epochs", "20",
         "--quiet", "--out", tmp_path / "run")
    aevb("score", tmp_path / "run", "--data", tmp_path / "table.csv", "--k", 100, "--out", tmp_path / "scores.csv")
    aevb("score", tmp_path / "run", "--data", tmp_path / "reversed.csv", "--k", 100, "--out", tmp_path / "back.npy")
    scores = np.genfromtxt(tmp_path / "scores.csv", delimiter=",", names=True)
    assert scores.dtype.names == ("row", "elbo", "log_likelihood", "anomaly_rank", "observed_cells")
    assert list(scores["row"]) == list(range(61)) and scores["anomaly_rank"][-1] == 1
    back = np.load(tmp_path / "back.npy")                                # [61, 4]
    np.testing.assert_allclose(back[::-1, 1:3], np.column_stack([scores["elbo"], scores["log_likelihood"]]),
                               rtol=1e-6)
    assert (scores["log_likelihood"] >= scores["elbo"] - 1).all()       # log p(x) ≥ ELBO, up to the ELBO's noise

    aevb("encode", tmp_path / "run", "--data", tmp_path / "table.csv", "--out", tmp_path / "codes.csv")
    codes = np.genfromtxt(tmp_path / "codes.csv", delimiter=",", names=True)
    assert codes.dtype.names == ("row", "mean_z0", "mean_z1", "std_z0", "std_z1")
    x = torch.tensor(np.genfromtxt(tmp_path / "table.csv", delimiter=",", skip_header=1), dtype=torch.float32)
    q = library.load(tmp_path / "run").encode(x).base_dist
    np.testing.assert_allclose(codes["mean_z0"], q.loc[:, 0].detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(codes["std_z1"], q.scale[:, 1].detach().numpy(), rtol=1e-5, atol=1e-6)

    aevb("reconstruct", tmp_path / "run", "--data", tmp_path / "table.csv", "--out", tmp_path / "recon.csv")
    aevb("sample", tmp_path / "run", "-n", 7, "--out", tmp_path / "samples.csv")
    for name, rows in (("recon.csv", 61), ("samples.csv", 7)):
        text = (tmp_path / name).read_text().splitlines()
        assert text[0] == "a,b,c,d" and len(text) == rows + 1


def test_a_run_saved_by_the_estimator_is_read_by_the_verbs(tmp_path):
    from aevb.sklearn import VariationalAutoencoder

    x = np.random.default_rng(0).normal(size=(50, 3))
    VariationalAutoencoder(epochs=2, random_state=0).fit(x).save(tmp_path / "run")
    np.save(tmp_path / "x.npy", x)
    aevb("score", tmp_path / "run", "--data", tmp_path / "x.npy", "--k", 20, "--out", tmp_path / "s.csv")
    assert len((tmp_path / "s.csv").read_text().splitlines()) == 51
    result = aevb("evaluate", tmp_path / "run", check=False)
    assert result.returncode == 2 and "pass --data" in result.stderr
    aevb("evaluate", tmp_path / "run", "--data", tmp_path / "x.npy")


def test_evaluate_gives_bits_per_dimension_only_where_they_mean_something(tmp_path):
    """A Bernoulli likelihood on grey levels scores a cross-entropy: evaluate says so, warns as training
    warned, and prints no bits per dimension; on binarised digits it prints them."""
    for binarize in ("none", "dynamic"):
        subprocess.run([sys.executable, "-m", "aevb", "train", "--data", "digits", "--binarize", binarize, "--hidden",
                        "16", "--latent-dim", "2", "--epochs", "1", "--quiet", "--out", str(tmp_path / binarize)],
                       check=True, capture_output=True)
        done = subprocess.run([sys.executable, "-m", "aevb", "evaluate", str(tmp_path / binarize), "--k", "10"],
                              check=True, capture_output=True, text=True)
        if binarize == "none":
            assert "bits per dimension " not in done.stdout
            assert "no bits per dimension: a Bernoulli likelihood scores values between 0 and 1" in done.stdout
            assert "aevb: warning:" in done.stderr and "discretized-logistic for 8-bit pixels" in done.stderr
        else:
            assert "bits per dimension " in done.stdout and "warning" not in done.stderr
