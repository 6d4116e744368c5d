"""`aevb export`: the encoder and decoder as ONNX (run in onnxruntime), TorchScript (run by
torch.jit.load) and torch.export (run by torch.export.load) files that reproduce aevb's outputs on real data, for any batch size."""

import json
import subprocess
import sys

import numpy as np
import onnxruntime
import pandas as pd
import pytest
import torch

import aevb
from aevb import datasets

EXPORTED = {"bernoulli": ["logits"], "gaussian": ["loc", "log_var"]}


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


@pytest.fixture(scope="module", params=["bernoulli", "gaussian"])
def run(request, digits, tmp_path_factory):
    """A run trained for a few epochs on the digits, with the named likelihood."""
    out = tmp_path_factory.mktemp("export") / request.param
    options = {"gaussian_mean": "linear", "gaussian_variance": "network"} if request.param == "gaussian" else {}
    torch.manual_seed(0)
    model = aevb.VAE(digits.data_dim, latent_dim=3, hidden=(32, 16), likelihood=request.param, **options)
    aevb.train(model, digits, aevb.TrainConfig(epochs=3, binarize="none"), out, progress=False, log=lambda *a: None)
    return out


def aevb_outputs(model, x, z):
    """What aevb computes: the encoder's (loc, log σ²) for x and the decoder's parameters for z."""
    with torch.no_grad():
        q = model.encode(x).base_dist
        p = model.decode(z).base_dist
    decoder = {"logits": p.logits} if model.config.likelihood == "bernoulli" else {"loc": p.loc, "log_var": 2 * p.scale.log()}
    return {"loc": q.loc, "log_var": 2 * q.scale.log()}, decoder


@pytest.mark.parametrize("format", ["onnx", "torchscript", "torch-export"])
def test_exported_files_reproduce_aevb_on_real_data(run, digits, format, tmp_path):
    result = subprocess.run([sys.executable, "-m", "aevb", "export", str(run), "--format", format, "--out",
                             str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    described = json.loads((tmp_path / "out" / "export.json").read_text())
    likelihood = described["likelihood"]
    assert list(described["decoder"]["outputs"]) == EXPORTED[likelihood]
    model = aevb.load(run)
    for batch in (1, 97):                               # a dynamic batch size: neither is the traced one (2)
        x = digits.test[:batch]                          # [batch, 64]
        z = torch.randn(batch, 3, generator=torch.Generator().manual_seed(batch))
        encoder_expected, decoder_expected = aevb_outputs(model, x, z)
        if format == "onnx":
            encoder = onnxruntime.InferenceSession(str(tmp_path / "out" / "encoder.onnx"))
            decoder = onnxruntime.InferenceSession(str(tmp_path / "out" / "decoder.onnx"))
            encoded = dict(zip(["loc", "log_var"], encoder.run(None, {"x": x.numpy()})))
            decoded = dict(zip(EXPORTED[likelihood], decoder.run(None, {"z": z.numpy()})))
        elif format == "torchscript":
            with torch.no_grad(), pytest.warns(DeprecationWarning):     # TorchScript is deprecated in torch 2.13
                encoded = dict(zip(["loc", "log_var"], torch.jit.load(tmp_path / "out" / "encoder.pt")(x)))
                decoded = dict(zip(EXPORTED[likelihood], torch.jit.load(tmp_path / "out" / "decoder.pt")(z)))
        else:
            with torch.no_grad():
                encoded = dict(zip(["loc", "log_var"], torch.export.load(tmp_path / "out" / "encoder.pt2").module()(x)))
                decoded = dict(zip(EXPORTED[likelihood], torch.export.load(tmp_path / "out" / "decoder.pt2").module()(z)))
        for expected, got in ((encoder_expected, encoded), (decoder_expected, decoded)):
            for name, value in expected.items():
                np.testing.assert_allclose(np.asarray(got[name]), value.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)


def test_export_leaves_the_model_as_it_was(tmp_path):
    from aevb.apps.export import export

    model = aevb.VAE(10, latent_dim=2, hidden=(4,)).double().train()
    export(model, tmp_path, "torchscript")
    assert model.training and next(model.parameters()).dtype == torch.float64


def test_a_table_encoder_takes_codes_and_missing_cells_in_onnx(tmp_path):
    from aevb.apps.export import export
    from aevb.datasets.tables import encode, infer_specs

    frame = pd.DataFrame({"size": [1.5, 2.0, None, 3.0], "colour": ["red", None, "blue", "red"],
                                            "visits": [0.0, 3.0, 2.0, 5.0]})
    specs = infer_specs(frame)
    model = aevb.VAE(3, latent_dim=2, hidden=(8,), likelihood="columns", columns=specs).eval()
    export(model, tmp_path, "onnx")
    described = json.loads((tmp_path / "export.json").read_text())
    assert described["columns"] == specs and described["decoder"]["outputs"] == {"real": ["batch", 1],
                                                                                 "count": ["batch", 1],
                                                                                 "categorical": ["batch", 2]}
    x = encode(frame, specs)                                                          # [4, 3] with NaN
    encoded = onnxruntime.InferenceSession(str(tmp_path / "encoder.onnx")).run(None, {"x": x})
    with torch.no_grad():
        q = model.encode(torch.from_numpy(x)).base_dist
    np.testing.assert_allclose(encoded[0], q.loc.numpy(), rtol=1e-5, atol=1e-6)
