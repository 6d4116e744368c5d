"""What a run directory holds, by name, and the fixed seeds every reader of a run shares.

    config.json             schema, model, training and data settings (enough to rebuild and resume)
    model.safetensors       the latest weights
    checkpoint.safetensors  weights, optimiser and generator state, progress: what --resume reads
    metrics.jsonl           one JSON object per evaluation
    samples.png             means of p(x|z) for z ~ N(0, I), for image data
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from .run_lock import LOCK_FILE

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CHECKPOINT_FILE = "checkpoint.safetensors"
METRICS_FILE = "metrics.jsonl"
SAMPLES_FILE = "samples.png"

EVALUATION_SEED = 1234      # noise of the evaluation estimates: the same at every evaluation
TEST_BINARIZATION_SEED = 0  # the one fixed draw of the evaluation sets (docs/protocols.md, "Binarisation")


def read_metrics(run) -> list[dict]:
    """The evaluations a run has written so far, oldest first ([] when it has written none)."""
    file = Path(run) / METRICS_FILE
    if not file.is_file():
        return []
    rows = []
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise InputError(f"{file}, line {number}, is not JSON ({error}): the file is damaged") from None
    return rows


def check_new_run_directory(out: Path) -> None:
    """Refuse, before anything is written, a run directory that holds a run already or files that are not
    aevb's: a new run goes into a new or empty directory, so that nothing in it is overwritten."""
    if (out / CONFIG_FILE).exists():
        raise InputError(f"{out} already holds a run: continue it with --resume {out}, or choose another --out")
    others = sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE) if out.is_dir() else []
    if out.exists() and (not out.is_dir() or others):
        what = "is a file" if not out.is_dir() else f"holds files that are not an aevb run ({others[0]}, ...)"
        raise InputError(f"{out.resolve()} {what}: a run directory must be new or empty, so that nothing in it "
                              "is overwritten; choose another --out")
