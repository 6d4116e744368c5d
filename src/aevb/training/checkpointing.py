"""A run's checkpoint, and the files derived from it.

checkpoint.safetensors holds the latest weights ("model."), the best weights so far on the validation split
("best.", where the run has one), the optimiser's state, the generators' state, and the training state as
JSON in its metadata: everything a resume needs. metrics.jsonl and model.safetensors (the best weights where
there are any, else the latest) are written after it from the same state, so a crash between the writes
loses nothing the checkpoint does not hold.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path

import torch

from ..io.checkpoint import (
    CheckpointError,
    load_state,
    optimizer_from_tensors,
    optimizer_to_tensors,
    read_tensors,
    save_weights,
    write_tensors,
)
from ..io.files import write_bytes_atomic
from ..io.run_directory import CHECKPOINT_FILE, METRICS_FILE
from ..randomness import restore_rng_state, rng_state_tensors

KIND = "aevb.checkpoint"


def save(model, optimizer, state, best_weights: dict | None, out: Path) -> None:
    """Checkpoint first, then the files derived from it."""
    optimizer_tensors, optimizer_plain = optimizer_to_tensors(optimizer.state_dict())
    tensors = {**_prefixed("model.", model.state_dict()), **_prefixed("best.", best_weights or {}),
               **optimizer_tensors, **rng_state_tensors()}
    write_tensors(out / CHECKPOINT_FILE, tensors, KIND,
                  state=json.dumps({"progress": dataclasses.asdict(state), "optimizer": optimizer_plain}))
    write_bytes_atomic(out / METRICS_FILE, "".join(json.dumps(m) + "\n" for m in state.metrics).encode())
    with holding(model, best_weights):
        save_weights(model, out)


@contextlib.contextmanager
def holding(model, weights: dict | None):
    """Within the block, `model` holds `weights` (when given); its own come back after it."""
    if not weights:
        yield
        return
    latest = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(weights)
    try:
        yield
    finally:
        model.load_state_dict(latest)


def restore(run_dir: Path, model, optimizer_for) -> tuple[dict, dict | None, dict]:
    """Load the checkpoint of `run_dir` into `model` (the latest weights), the optimiser that
    `optimizer_for(model)` makes and the global generators. Returns (the saved training state, the best
    weights or None, the optimiser)."""
    file = run_dir / CHECKPOINT_FILE
    tensors, metadata = read_tensors(file, KIND)
    try:
        saved = json.loads(metadata.get("state", ""))
        readable = isinstance(saved, dict) and {"progress", "optimizer"} <= set(saved)
    except json.JSONDecodeError:
        readable = False
    if not readable:
        raise CheckpointError(f"{file} holds no readable training state; it is damaged: start a new run, or copy "
                              "a good checkpoint.safetensors back") from None
    load_state(model, _unprefixed("model.", tensors), file)
    best = _unprefixed("best.", tensors) or None
    optimizer = optimizer_for(model)
    optimizer.load_state_dict(optimizer_from_tensors(tensors, saved["optimizer"]))
    restore_rng_state(tensors)
    return saved["progress"], best, optimizer


def _prefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in tensors.items()}


def _unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
