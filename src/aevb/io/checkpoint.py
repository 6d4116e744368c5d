"""Models and training checkpoints on disk: safetensors for tensors, JSON for everything else.

A model directory holds `config.json` (schema name, version and the VAEConfig) and
`model.safetensors`. A run directory is a model directory with more keys in its config.json and a
resumable `checkpoint.safetensors` (weights, optimiser state and RNG state as tensors; step, metrics
and optimiser settings as JSON in the file's metadata, so one atomic rename publishes all of it).
No pickle anywhere: loading a file never runs code.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as safetensors_bytes

from ..errors import InputError
from .files import write_bytes_atomic, write_json_atomic
from .run_directory import CONFIG_FILE, WEIGHTS_FILE

SCHEMA_VERSION = 1


class CheckpointError(InputError):
    """A file that is missing, corrupt, truncated, foreign, or of a newer schema."""


def model_config_document(config, **sections) -> dict:
    """config.json's contents for a model whose `config` (a VAEConfig) has `to_dict()`, with more `sections`."""
    return {"schema": "aevb", "schema_version": SCHEMA_VERSION, "model": config.to_dict(), **sections}


def save_model(model, path) -> None:
    """Write `path`/config.json and `path`/model.safetensors."""
    path = Path(path)
    write_json_atomic(path / CONFIG_FILE, model_config_document(model.config))
    save_weights(model, path)


def save_weights(model, path) -> None:
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    write_bytes_atomic(Path(path) / WEIGHTS_FILE, safetensors_bytes(tensors, metadata=_metadata("aevb.model")))


def read_config(path) -> dict:
    """The parsed config.json of a model or run directory, checked to be ours and readable."""
    file = Path(path) / CONFIG_FILE
    if not Path(path).is_dir():
        raise CheckpointError(f"{path} is not a directory: pass a run directory or one written by model.save()")
    try:
        document = json.loads(file.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{file} is missing: {path} is not an aevb run or model directory") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{file} is not valid JSON ({error}); the file is corrupt or truncated") from None
    if not isinstance(document, dict) or document.get("schema") != "aevb":
        raise CheckpointError(f"{file} is not an aevb configuration (no \"schema\": \"aevb\" in it)")
    _check_version(file, document.get("schema_version"))
    return document


def read_tensors(file: Path, kind: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Tensors and metadata of a safetensors file written by aevb as `kind`; one clear error otherwise."""
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{file} is missing") from None
    try:
        tensors = load_safetensors_bytes(data)
        metadata = _safetensors_metadata(data)
    except (SafetensorError, ValueError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{file} is not a readable safetensors file (corrupt or truncated?): {error}") from None
    if metadata.get("schema") != kind:
        raise CheckpointError(f"{file} is a safetensors file but not an {kind} file written by aevb")
    _check_version(file, metadata.get("schema_version"))
    return tensors, metadata


def write_tensors(file: Path, tensors: dict[str, torch.Tensor], kind: str, **metadata: str) -> None:
    tensors = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
    write_bytes_atomic(file, safetensors_bytes(tensors, metadata={**_metadata(kind), **metadata}))


def load_state(model, tensors: dict[str, torch.Tensor], file: Path) -> None:
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        raise CheckpointError(f"{file} does not match its config.json: missing {missing}, unexpected {unexpected}, "
                              f"wrong shape {wrong}")
    model.load_state_dict(tensors)


def _metadata(kind: str) -> dict[str, str]:
    return {"schema": kind, "schema_version": str(SCHEMA_VERSION)}


def _safetensors_metadata(data: bytes) -> dict:
    header_size = int.from_bytes(data[:8], "little")
    return json.loads(data[8:8 + header_size]).get("__metadata__", {}) or {}


def _check_version(file, version) -> None:
    if str(version) != str(SCHEMA_VERSION):
        raise CheckpointError(f"{file} has schema version {version!r}; this aevb reads version {SCHEMA_VERSION}: "
                              "upgrade aevb, or re-save the model with this version")


def optimizer_to_tensors(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimiser state → tensors for safetensors + the rest as JSON."""
    tensors, plain = {}, {}
    for index, values in state_dict["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value
            else:
                plain.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "plain_state": plain}


def optimizer_from_tensors(tensors: dict[str, torch.Tensor], saved: dict) -> dict:
    """The inverse of `optimizer_to_tensors`: a state_dict for Optimizer.load_state_dict."""
    state: dict[int, dict] = {int(i): dict(values) for i, values in saved["plain_state"].items()}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            index, key = name[len("optimizer."):].split(".", 1)
            state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": saved["param_groups"]}
