"""Hostile input and faults through the real `aevb` command: each gets exit status 2 and exactly one line
on stderr that names the value and the fix, with no traceback, and nothing outside a fresh run directory
is created or changed."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load as load_safetensors
from safetensors.torch import load_file

import aevb

TINY = ["--data", "digits", "--hidden", "16", "--latent-dim", "2", "--quiet", "--out", "new-run"]


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    return make_place(tmp_path_factory.mktemp("place"))


def make_place(place: Path) -> Path:
    """Files a user might point the command at: a trained run, good and bad tables, images, folders."""
    subprocess.run([sys.executable, "-m", "aevb", "train", *TINY[:-1], str(place / "run"), "--max-samples", "300"],
                   check=True, capture_output=True, timeout=300)
    digits = aevb.datasets.load("digits").test[:20].numpy()
    np.savetxt(place / "good.csv", digits, delimiter=",")
    np.savetxt(place / "narrow.csv", digits[:, :10], delimiter=",")
    np.save(place / "huge-values.npy", np.full((20, 64), 1e300))
    (place / "text.csv").write_text("age,city\n31,Paris\n42,Lyon\n")
    (place / "ragged.csv").write_text("1,2,3\n4,5\n6,7,8\n")
    (place / "empty.csv").write_text("")
    (place / "corrupt.npy").write_bytes(b"\x93NUMPY garbage that is not an array")
    (place / "empty-folder").mkdir()
    (place / "notes").mkdir()
    (place / "notes" / "todo.txt").write_text("my own file\n")
    (place / "a-file.txt").write_text("not a directory\n")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(place / "digit.png")
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(place / "large.png")
    shutil.copytree(place / "run", place / "damaged-metrics")
    (place / "damaged-metrics" / "metrics.jsonl").write_text('{"step": 1, "train_elbo": -5\n')
    shutil.copytree(place / "run", place / "corrupt-config")
    (place / "corrupt-config" / "config.json").write_text('{"schema": "aevb", ')
    shutil.copytree(place / "run", place / "unknown-setting")
    config = json.loads((place / "run" / "config.json").read_text())
    config["train"]["learning_speed"] = 3
    (place / "unknown-setting" / "config.json").write_text(json.dumps(config))
    (place / "saved-model").mkdir()
    aevb.load(place / "run").save(place / "saved-model")
    return place


def tree(*folders: Path) -> dict:
    """Every file and folder under `folders`: path → (size, modification time, inode)."""
    return {path: (s.st_size, s.st_mtime_ns, s.st_ino) for folder in folders
            for path in [folder, *folder.rglob("*")] for s in [path.stat()]}


CASES = [
    # training numbers and settings
    (["train", *TINY, "--lr", "nan"], "lr=nan must be a finite number > 0"),
    (["train", *TINY, "--lr", "inf"], "lr=inf must be a finite number > 0"),
    (["train", *TINY, "--lr", "-1"], "lr=-1.0 must be a finite number > 0"),
    (["train", *TINY, "--beta", "-1"], "beta=-1.0 must be a finite number ≥ 0"),
    (["train", *TINY, "--beta", "nan"], "beta=nan must be a finite number ≥ 0"),
    (["train", *TINY, "--epochs", "inf"], "epochs=inf must be a finite number > 0"),
    (["train", *TINY, "--epochs", "0"], "epochs=0.0 must be a finite number > 0"),
    (["train", *TINY, "--max-samples", "1e400"], "'1e400' must be a positive whole number"),
    (["train", *TINY, "--max-samples", "-5"], "'-5' must be a positive whole number"),
    (["train", *TINY, "--seed", str(2**64)], "is outside [0, 2**63 − 1]"),
    (["train", *TINY, "--seed", "-1"], "'-1' is outside [0, 2**63 − 1]"),
    (["train", *TINY, "--hidden", "big"], "give widths separated by commas"),
    (["train", *TINY, "--hidden", "0"], "every width must be a positive integer"),
    (["train", *TINY, "--latent-dim", "0"], "latent_dim=0 must be a positive integer"),
    (["train", *TINY, "--batch-size", "0"], "batch_size=0 must be a positive integer"),
    (["train", *TINY, "--samples", "0"], "samples=0 must be a positive integer"),
    (["train", *TINY, "--k", "0", "--objective", "iwae"], "k=0 must be a positive integer"),
    (["train", *TINY, "--n-train", "5000"], "n_train=5000 is outside [2, 1200]"),
    (["train", *TINY, "--optimizer", "sgd"], "invalid choice: 'sgd'"),
    (["train", *TINY, "--likelihood", "gaussian", "--gaussian-variance", "fixed", "--fixed-variance", "inf"], "fixed_variance=inf must be a finite number > 0"),
    (["train", *TINY, "--device", "cuda"], "no CUDA device is visible"),
    # training data
    (["train", *TINY[2:], "--data", "{place}/missing.csv"], "missing.csv does not exist"),
    (["train", *TINY[2:], "--data", "nothing.xyz"], "is neither a known data set"),
    (["train", *TINY[2:], "--data", "{place}/text.csv", "--column-type", "city=real"],
     "'city' is categorical and cannot be made real from the command line"),
    (["train", *TINY[2:], "--data", "{place}/ragged.csv"], "data row 2 has 2 columns, the first has 3"),
    (["train", *TINY[2:], "--data", "{place}/empty.csv"], "empty.csv is empty"),
    (["train", *TINY[2:], "--data", "{place}/corrupt.npy"], "corrupt.npy is not a .npy array"),
    (["train", *TINY[2:], "--data", "{place}/empty-folder"], "holds 0 PNG/JPEG images"),
    (["train", *TINY[2:], "--data", "{place}/huge-values.npy", "--likelihood", "gaussian"], "beyond float32's range"),
    (["train", *TINY[2:], "--data", "{place}/good.csv", "--likelihood", "bernoulli", "--binarize", "none",
      "--max-samples", "1e30"], "beyond 2**53"),
    # where a run goes, and runs to continue
    (["train", *TINY[:-1], ""], "give the run directory a name"),
    (["train", *TINY[:-1], "{place}/a-file.txt"], "is a file: a run directory must be new or empty"),
    (["train", *TINY[:-1], "{place}/notes"], "holds files that are not an aevb run (todo.txt"),
    (["train", *TINY[:-1], "{place}/run"], "already holds a run: continue it with --resume"),
    (["train", "--resume", "{place}/nowhere"], "nowhere is not a directory"),
    (["train", "--resume", "{place}/saved-model"], "holds a saved model, not a training run"),
    (["train", "--resume", "{place}/unknown-setting"], "unknown keys ['learning_speed']"),
    (["train", "--resume", "{place}/run", "--latent-dim", "5"], "drop --latent-dim"),
    # reading a run
    (["evaluate", "{place}/nowhere"], "nowhere is not a directory"),
    (["evaluate", "{place}/corrupt-config"], "config.json is not valid JSON"),
    (["evaluate", "{place}/run", "--k", "-1"], "--k -1 must be 0"),
    (["evaluate", "{place}/run", "--json", "{place}/notes"], "notes is a directory: name a file"),
    (["evaluate", "{place}/run", "--data", "{place}/narrow.csv"], "has shape (2, 10); this model expects [N, 64]"),
    (["plot-curves", "{place}/damaged-metrics", "--out", "curves.png"], "metrics.jsonl, line 1, is not JSON"),
    # per-row verbs, samples, pictures, export
    (["score", "{place}/run", "--data", "{place}/narrow.csv", "--out", "scores.csv"], "narrow.csv has shape (20, 10); this model expects [N, 64]"),
    (["score", "{place}/run", "--data", "{place}/good.csv", "--out", "scores.txt"], "name a .csv (a table with a header) or a .npy"),
    (["score", "{place}/run", "--data", "{place}/good.csv", "--out", "scores.csv", "--k", "0"], "argument --k: '0' must be a positive whole number"),
    (["encode", "{place}/nowhere", "--data", "{place}/good.csv", "--out", "codes.csv"], "nowhere is not a directory"),
    (["sample", "{place}/run", "-n", "inf", "--out", "s.png"], "'inf' must be a positive whole number"),
    (["sample", "{place}/run", "-n", "0", "--out", "s.png"], "'0' must be a positive whole number"),
    (["sample", "{place}/run", "--out", "s.jpg"], "name a .png"),
    (["sample", "{place}/run", "--seed", "x", "--out", "s.png"], "'x' is not a whole number"),
    (["upscale", "{place}/run", "--input", "{place}/digit.png", "--factor", "3", "--out", "up.png"], "--factor 3 does not divide this model's 8×8 images"),
    (["upscale", "{place}/run", "--input", "{place}/digit.png", "--factor", "100", "--out", "up.png"], "choose one of [2, 4, 8]"),
    (["inpaint", "{place}/run", "--input", "{place}/large.png", "--mask", "{place}/digit.png", "--out", "in.png"], "large.png is 30×30 pixels; this model draws 8×8"),
    (["inpaint", "{place}/run", "--input", "{place}/missing.png", "--mask", "{place}/digit.png", "--out", "in.png"], "missing.png does not exist"),
    (["manifold", "{place}/run", "-n", "0", "--out", "m.png"], "'0' must be a positive whole number"),
    (["export", "{place}/run", "--format", "keras"], "invalid choice: 'keras'"),
    (["export", "{place}/nowhere", "--out", "exported"], "nowhere is not a directory"),
    (["reproduce", "figure3", "--budget", "lots"], "'lots' is not a number"),
    (["reproduce", "figure99"], "invalid choice: 'figure99'"),
    (["reproduce", "figure2", "--budget", "2h"], "figure2 takes its budget in datapoints (e.g. 1e7) or 'paper'"),
    (["reproduce", "mnist-likelihood", "--budget", "0h"], "'0h': give hours as a positive number"),
    (["reproduce", "mnist-likelihood", "--budget", "paper"], "mnist-likelihood has no paper's budget"),
    (["train", *TINY, "--validation-fraction", "1.5"], "validation_fraction=1.5 must lie in [0, 1)"),
    (["train", *TINY, "--early-stopping", "0"], "early_stopping=0 must be a positive whole number"),
    (["train", *TINY, "--early-stopping", "3", "--validation-fraction", "0"], "early stopping watches the validation"),
    (["train", *TINY, "--kl-warmup", "10", "--objective", "iwae"], "kl_warmup=10 weighs the KL term of the ELBO"),
    (["train", *TINY, "--lr-warmup", "-5"], "lr_warmup=-5 must be a whole number of steps"),
]


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(a)[:70] for a, _ in CASES])
def test_one_line_and_nothing_touched(place, tmp_path, args, message):
    argv = [a.format(place=place) for a in args]
    before = tree(place, tmp_path)
    result = subprocess.run([sys.executable, "-m", "aevb", *argv], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert message in lines[0]
    assert tree(place, tmp_path) == before


def test_a_folder_without_read_permission_gets_one_sentence(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "x.csv").write_text("1,2\n3,4\n5,6\n")
    locked.chmod(0o000)
    # root reads everything: run the command as root without the capabilities that bypass file modes.
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]
    try:
        result = subprocess.run([*(drop if os.geteuid() == 0 else []), sys.executable, "-m", "aevb", "train",
                                 "--data", str(locked / "x.csv"), "--quiet", "--out", str(tmp_path / "run")],
                                capture_output=True, text=True, timeout=300)
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2 and "permission denied" in result.stderr and "Traceback" not in result.stderr, \
        result.stderr


def test_a_bug_keeps_its_traceback_and_asks_for_a_report(monkeypatch, capsys):
    """Anything that is not an InputError (here a KeyError from inside a verb) is a bug in aevb: the
    command shows its traceback and asks for a report, instead of passing it off as bad input."""
    from aevb import cli

    def broken(args):
        raise KeyError("decoder.weight")

    monkeypatch.setattr(cli.export, "run_export", broken)
    assert cli.main(["export", "anything"]) == 1
    stderr = capsys.readouterr().err
    assert "Traceback" in stderr and "KeyError: 'decoder.weight'" in stderr
    assert stderr.splitlines()[-1].startswith("aevb: this is a bug in aevb") and "please report it" in stderr


def test_a_resume_on_data_that_changed_length_says_so_before_any_step(tmp_path):
    """The data shortened under a run: its checkpoint's place in the epoch lies past the new data's end (it
    once spun for ever there)."""
    rows = np.random.default_rng(0).normal(size=(300, 4))
    np.savetxt(tmp_path / "t.csv", rows, delimiter=",", header="a,b,c,d", comments="")
    subprocess.run([sys.executable, "-m", "aevb", "train", "--data", "t.csv", "--max-samples", "2000", "--eval-every",
                    "500", "--quiet", "--out", "run"], cwd=tmp_path, check=True, capture_output=True, timeout=300)
    np.savetxt(tmp_path / "t.csv", rows[:100], delimiter=",", header="a,b,c,d", comments="")
    before = tree(tmp_path / "run")
    done = subprocess.run([sys.executable, "-m", "aevb", "train", "--resume", "run", "--max-samples", "5000"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"aevb: error: {tmp_path / 't.csv'} now gives 81 training rows, and run's checkpoint "
                                   "was made on 243: put back the data the run was trained on, or start a new run")
    assert tree(tmp_path / "run") == before


def test_export_never_overwrites_a_users_files_and_rewrites_its_own(place, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "encoder.pt").write_bytes(b"the user's own model")
    before = tree(tmp_path / "mine")
    done = subprocess.run([sys.executable, "-m", "aevb", "export", str(place / "run"), "--format", "torchscript",
                           "--out", str(tmp_path / "mine")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "holds files that are not an aevb export (encoder.pt, ...)" in done.stderr
    assert tree(tmp_path / "mine") == before
    for _ in range(2):                                  # a folder aevb exported into before takes a new export
        subprocess.run([sys.executable, "-m", "aevb", "export", str(place / "run"), "--format", "torchscript",
                        "--out", str(tmp_path / "ours")], check=True, capture_output=True, timeout=300)
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == ["decoder.pt", "encoder.pt", "export.json"]


def test_a_row_with_every_cell_empty_is_kept_answered_and_not_ranked_as_normal(tmp_path):
    rows = np.random.default_rng(0).normal(size=(200, 3))
    np.savetxt(tmp_path / "t.csv", rows, delimiter=",", header="a,b,c", comments="")
    subprocess.run([sys.executable, "-m", "aevb", "train", "--data", "t.csv", "--max-samples", "2000", "--quiet",
                    "--out", "run"], cwd=tmp_path, check=True, capture_output=True, timeout=300)
    (tmp_path / "holes.csv").write_text("a,b,c\n1,2,3\n,,\n\n9,9,9\n0,,1\n")     # the blank line is no row
    score = subprocess.run([sys.executable, "-m", "aevb", "score", "run", "--data", "holes.csv", "--out", "s.csv"],
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "4 rows" in score.stdout and "1 rows with no observed cell have no rank" in score.stdout
    scores = np.genfromtxt(tmp_path / "s.csv", delimiter=",", names=True)
    assert list(scores["row"]) == [0, 1, 2, 3] and list(scores["observed_cells"]) == [3, 0, 3, 2]
    assert np.isnan(scores["anomaly_rank"][1]) and sorted(scores["anomaly_rank"][[0, 2, 3]]) == [1, 2, 3]
    assert scores["anomaly_rank"][2] == 1                                  # (9, 9, 9) is the least likely
    impute = subprocess.run([sys.executable, "-m", "aevb", "impute", "run", "--data", "holes.csv", "--out", "i.csv"],
                            cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "filled 4 missing cells in 4 rows" in impute.stdout and "1 rows with no observed cell" in impute.stdout
    filled = (tmp_path / "i.csv").read_text().splitlines()
    assert len(filled) == 5 and filled[1] == "1,2,3" and filled[3] == "9,9,9" and "" not in filled[2].split(",")


def test_a_resume_after_a_kill_between_the_last_checkpoint_and_its_outputs_repairs_them(tmp_path):
    """Killed after the final checkpoint was written and before metrics.jsonl and model.safetensors were: the
    resumed run has nothing to train and writes both again from the checkpoint (the truth)."""
    options = ["--data", "digits", "--hidden", "16", "--latent-dim", "2", "--epochs", "2", "--quiet"]
    subprocess.run([sys.executable, "-m", "aevb", "train", *options, "--out", "run"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=300)
    run = tmp_path / "run"
    final = {name: (run / name).read_bytes() for name in ("model.safetensors", "metrics.jsonl")}
    subprocess.run([sys.executable, "-m", "aevb", "train", *options, "--epochs", "1", "--out", "older"], cwd=tmp_path,
                   check=True, capture_output=True, timeout=300)
    (run / "model.safetensors").write_bytes((tmp_path / "older" / "model.safetensors").read_bytes())   # stale
    (run / "metrics.jsonl").write_bytes(final["metrics.jsonl"].splitlines(keepends=True)[0])         # its last row lost
    subprocess.run([sys.executable, "-m", "aevb", "train", "--resume", "run", "--quiet"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=300)
    assert (run / "metrics.jsonl").read_bytes() == final["metrics.jsonl"]
    repaired, written = load_file(str(run / "model.safetensors")), load_safetensors(final["model.safetensors"])
    assert repaired.keys() == written.keys() and all(torch.equal(repaired[k], written[k]) for k in repaired)
