"""A trained VAE as two standalone files that run without aevb: the encoder x → (μ, log σ²) of q(z|x)
and the decoder z → the parameters of p(x|z), each with a dynamic batch size.

    onnx:         encoder.onnx, decoder.onnx (run them with onnxruntime; `pip install aevb[export]`)
    torchscript:  encoder.pt, decoder.pt (torch.jit.load; TorchScript is deprecated from torch 2.13 on)
    torch-export: encoder.pt2, decoder.pt2 (torch.export.load(file).module(), TorchScript's successor)

Both formats are registered in `FORMATS`; each writes its files atomically into the output directory,
with export.json naming every input and output and their shapes.
"""

from __future__ import annotations

import copy
import io
import logging
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ..errors import InputError
from ..io.files import write_bytes_atomic, write_json_atomic


class EncoderGraph(nn.Module):
    """x [B, D] → (loc [B, Nz], log_var [B, Nz]): the mean and log-variance of q(z|x). A table's x holds
    codes for levels and NaN for missing cells, as aevb's own."""

    def __init__(self, model):
        super().__init__()
        self.inputs, self.encoder, self.head = model.likelihood.encoder_input, model.encoder, model.encoder_head

    def forward(self, x: torch.Tensor):
        loc, log_var = self.head(self.encoder(self.inputs(x))).chunk(2, dim=-1)
        return loc, log_var


class DecoderGraph(nn.Module):
    """z [B, Nz] → the parameters of p(x|z), each [B, D], in the order of the head's `parameters_of`."""

    def __init__(self, model):
        super().__init__()
        self.decoder, self.likelihood = model.decoder, model.likelihood

    def forward(self, z: torch.Tensor):
        return tuple(self.likelihood.parameters_of(self.decoder(z)).values())


def _torchscript(graph: nn.Module, example: torch.Tensor, input_name, output_names) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)    # torch 2.13 deprecates TorchScript; users still ask
        traced = torch.jit.trace(graph, example, check_trace=False)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer)
    return buffer.getvalue()


def _exported_program(graph: nn.Module, example: torch.Tensor, input_name, output_names) -> bytes:
    program = torch.export.export(graph, (example,), dynamic_shapes=({0: torch.export.Dim("batch", min=1)},))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


def _onnx(graph: nn.Module, example: torch.Tensor, input_name: str, output_names: list[str]) -> bytes:
    try:
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError:
        raise InputError("--format onnx needs the packages onnx and onnxscript: pip install 'aevb[export]'") from None
    batch = torch.export.Dim("batch", min=1)
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)      # it lists the torchvision operators it skips, as warnings
    try:
        with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)      # deprecations inside the exporter itself
            file = Path(folder) / "graph.onnx"
            torch.onnx.export(graph, (example,), file, input_names=[input_name], output_names=output_names,
                              dynamic_shapes=({0: batch},), external_data=False, dynamo=True, verbose=False)
            return file.read_bytes()
    finally:
        exporter_log.setLevel(level)


@dataclass(frozen=True)
class ExportFormat:
    """How to write one graph: `write(graph, example input, input name, output names)` → the file's bytes."""

    suffix: str
    write: Callable


FORMATS = {"onnx": ExportFormat(".onnx", _onnx), "torchscript": ExportFormat(".pt", _torchscript),
           "torch-export": ExportFormat(".pt2", _exported_program)}


def export(model, out, format: str = "onnx") -> list[Path]:
    """Write the encoder and decoder of `model` into the directory `out` in `format`; returns the files."""
    if format not in FORMATS:
        raise InputError(f"--format {format!r} is not one of {sorted(FORMATS)}")
    out = Path(out)
    _check_export_directory(out)
    chosen = FORMATS[format]
    model = copy.deepcopy(model).float().cpu().eval()         # the caller's model is left as it was
    config = model.config
    decoder_outputs = {name: value.shape[-1] for name, value                     # name → width (D, or a table group's)
                       in model.likelihood.parameters_of(model.decoder(torch.zeros(1, config.latent_dim))).items()}
    graphs = {
        "encoder": (EncoderGraph(model).eval(), torch.zeros(2, config.data_dim), "x", ["loc", "log_var"]),
        "decoder": (DecoderGraph(model).eval(), torch.zeros(2, config.latent_dim), "z", list(decoder_outputs)),
    }
    written = []
    with torch.no_grad():
        contents = {name: chosen.write(*graph) for name, graph in graphs.items()}   # all made before any write
    out.mkdir(parents=True, exist_ok=True)
    for name, content in contents.items():
        write_bytes_atomic(out / f"{name}{chosen.suffix}", content)
        written.append(out / f"{name}{chosen.suffix}")
    write_json_atomic(out / "export.json", {
        "format": format, "likelihood": config.likelihood, "dtype": "float32",
        "encoder": {"file": f"encoder{chosen.suffix}", "input": {"x": ["batch", config.data_dim]},
                    "outputs": {"loc": ["batch", config.latent_dim], "log_var": ["batch", config.latent_dim]}},
        "decoder": {"file": f"decoder{chosen.suffix}", "input": {"z": ["batch", config.latent_dim]},
                    "outputs": {name: ["batch", width] for name, width in decoder_outputs.items()}},
        **({"columns": list(config.columns)} if config.columns else {}),   # a table: the outputs' per-column constants
    })
    return [*written, out / "export.json"]


def _check_export_directory(out: Path) -> None:
    """The rule `aevb train` follows for its run directory: `out` is new, empty, or an export aevb wrote
    (its export.json and its graphs, nothing else), so that no file of the user's is overwritten."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"{out.resolve()} is a file: name a directory for the export with --out")
    names = {p.name for p in out.iterdir()}
    ours = {"export.json"} | {f"{graph}{chosen.suffix}" for graph in ("encoder", "decoder") for chosen in FORMATS.values()}
    if names and not ("export.json" in names and names <= ours):
        raise InputError(f"{out.resolve()} holds files that are not an aevb export ({sorted(names - ours or names)[0]}, "
                         "...): an export directory must be new, empty or an earlier aevb export, so that nothing in it "
                         "is overwritten; choose another --out")
