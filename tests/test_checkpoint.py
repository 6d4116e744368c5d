"""Saving and loading: bit-for-bit round trips, and one clear error for every bad file."""

import json
import os

import pytest
import torch
from safetensors.torch import save_file

import aevb
from aevb.io.files import write_bytes_atomic

VARIANTS = [
    dict(likelihood="bernoulli", hidden=(8,), activation="tanh"),
    dict(likelihood="gaussian", gaussian_variance="network", hidden=(8, 5), activation="relu"),
    dict(likelihood="gaussian", gaussian_variance="learned", gaussian_mean="linear", hidden=()),
    dict(likelihood="gaussian", gaussian_variance="fixed", fixed_variance=0.1, hidden=(4,), init="paper"),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("options", VARIANTS)
def test_save_then_load_reproduces_outputs_bit_for_bit(tmp_path, options, dtype):
    model = aevb.VAE(12, 3, **options).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))   # away from any initial value the loader might recreate
    model.save(tmp_path / "model")
    loaded = aevb.load(tmp_path / "model")
    assert loaded.config == model.config
    assert all(p.dtype == dtype for p in loaded.parameters())
    x, z = torch.rand(5, 12, dtype=dtype), torch.randn(5, 3, dtype=dtype)
    assert torch.equal(loaded.encode(x).mean, model.encode(x).mean)
    assert torch.equal(loaded.encode(x).stddev, model.encode(x).stddev)
    assert torch.equal(loaded.decode(z).mean, model.decode(z).mean)
    assert torch.equal(loaded.decode(z).variance, model.decode(z).variance)
    assert torch.equal(loaded.decode(z).log_prob(x), model.decode(z).log_prob(x))
    document = json.loads((tmp_path / "model" / "config.json").read_text())
    assert document["schema"] == "aevb" and document["schema_version"] == 1


@pytest.fixture
def saved(tmp_path):
    aevb.VAE(6, 2, hidden=(4,)).save(tmp_path / "m")
    return tmp_path / "m"


def test_truncated_weights(saved):
    weights = saved / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-20])
    with pytest.raises(aevb.CheckpointError, match="model.safetensors is not a readable safetensors file"):
        aevb.load(saved)


def test_garbage_weights(saved):
    (saved / "model.safetensors").write_bytes(b"\x00\x01 this is not a safetensors file" * 10)
    with pytest.raises(aevb.CheckpointError, match="not a readable safetensors file"):
        aevb.load(saved)


def test_foreign_safetensors_file(saved):
    save_file({"encoder.0.weight": torch.zeros(4, 6)}, str(saved / "model.safetensors"))
    with pytest.raises(aevb.CheckpointError, match="not an aevb.model file"):
        aevb.load(saved)


def test_weights_that_do_not_match_the_config(saved, tmp_path):
    aevb.VAE(6, 3, hidden=(4,)).save(tmp_path / "other")
    (saved / "model.safetensors").write_bytes((tmp_path / "other" / "model.safetensors").read_bytes())
    with pytest.raises(aevb.CheckpointError, match="does not match its config.json"):
        aevb.load(saved)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"name": "something else"}', "not an aevb configuration"),
    ('{"schema": "aevb", "schema_version": 99, "model": {}}', "schema version 99"),
    ('{"schema": "aevb", "schema_version": 1, "model": {"data_dim": 6, "colour": 1}}', "colour"),
])
def test_bad_config_json(saved, text, message):
    (saved / "config.json").write_text(text)
    with pytest.raises(aevb.CheckpointError, match=message):
        aevb.load(saved)


def test_missing_directory_and_file(tmp_path):
    with pytest.raises(aevb.CheckpointError, match="is not a directory"):
        aevb.load(tmp_path / "nowhere")
    with pytest.raises(aevb.CheckpointError, match="config.json is missing"):
        aevb.load(tmp_path)


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "weights.bin"
    write_bytes_atomic(target, b"old")

    def power_cut(*args):
        raise OSError("disk full")

    monkeypatch.setattr("aevb.io.files.os.replace", power_cut)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]   # no temporary file left behind


def test_atomic_write_neither_touches_the_umask_nor_skips_the_directory(tmp_path, monkeypatch):
    """Files get 0666 filtered by the umask without the umask being read (reading it means setting it,
    a race with other threads), and the directory is flushed after the rename."""
    real_umask, real_fsync = os.umask, os.fsync
    umask_calls, flushed = [], []
    old = real_umask(0o027)
    try:
        # aevb.io.files.os is the os module itself: record calls rather than raise, and restore with the real one
        monkeypatch.setattr(os, "umask", lambda *args: (umask_calls.append(args), real_umask(*args))[1])
        monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(os.path.isdir(f"/proc/self/fd/{fd}")),
                                                     real_fsync(fd))[1])
        write_bytes_atomic(tmp_path / "out.bin", b"data")
    finally:
        real_umask(old)
    assert umask_calls == []
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o640
    assert flushed == [False, True]            # the file, then its directory


def test_a_model_with_non_finite_weights_is_refused_with_one_sentence(tmp_path):
    model = aevb.VAE(10, latent_dim=2, hidden=(4,))
    with torch.no_grad():
        model.decoder[0].weight[0, 0] = float("nan")
    model.save(tmp_path / "m")
    with pytest.raises(aevb.CheckpointError, match=r"NaN or infinite weights \(decoder.0.weight\).*smaller --lr"):
        aevb.load(tmp_path / "m")
