"""`aevb reproduce figure2` end to end at a tiny budget, and resumed to a larger one."""

import csv
import subprocess
import sys

from matplotlib.image import imread


def reproduce(*args):
    result = subprocess.run([sys.executable, "-m", "aevb", "reproduce", "figure2", "--quiet", *map(str, args)],
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
