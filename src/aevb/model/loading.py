"""A saved model back in memory: a run directory or a directory written by `model.save()`."""

from __future__ import annotations

from pathlib import Path

import torch

from ..io.checkpoint import CheckpointError, load_state, read_config, read_tensors
from ..io.run_directory import CONFIG_FILE, WEIGHTS_FILE
from .config import VAEConfig
from .vae import VAE


def model_from_document(document: dict, path) -> VAE:
    """A new VAE built from the "model" section of the config.json of `path` (weights not loaded)."""
    try:
        return VAE.from_config(VAEConfig.from_dict(document["model"]))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{Path(path) / CONFIG_FILE} has an unusable \"model\" section: {error}") from None


def load(path, device="cpu") -> VAE:
    """Rebuild the VAE saved in the directory `path` (a run directory or one from model.save())."""
    model = model_from_document(read_config(path), path)
    tensors, _ = read_tensors(Path(path) / WEIGHTS_FILE, "aevb.model")
    broken = sorted(name for name, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all()))
    if broken:
        raise CheckpointError(f"{Path(path) / WEIGHTS_FILE} holds NaN or infinite weights ({', '.join(broken)}): the "
                              "model diverged; train it again with a smaller --lr")
    dtypes = {t.dtype for t in tensors.values() if t.is_floating_point()}
    if len(dtypes) == 1:
        model.to(dtypes.pop())          # the saved precision: a float64 model comes back float64, unrounded
    load_state(model, tensors, Path(path) / WEIGHTS_FILE)
    return model.to(device)
