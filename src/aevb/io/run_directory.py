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
