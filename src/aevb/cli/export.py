"""`aevb export`: a run's encoder and decoder as standalone ONNX or TorchScript files."""

from __future__ import annotations

from pathlib import Path

from ..apps.export import FORMATS, export
from ..model import load


def run_export(args) -> int:
    out = args.out or args.run / f"export-{args.format}"
    for path in export(load(args.run), out, args.format):
        print(f"wrote {path}")
    return 0


def add_parser(verbs) -> None:
    description = ("Write RUN's encoder (x [batch, D] → loc, log_var of q(z|x), each [batch, Nz]) and decoder "
                   "(z [batch, Nz] → the parameters of p(x|z): logits for Bernoulli, loc and log_var for Gaussian, "
                   "each [batch, D]) as standalone files with a dynamic batch size, and export.json naming "
                   "their inputs and outputs. onnx runs in onnxruntime (needs pip install 'aevb[export]'); "
                   "torchscript in torch.jit.load; torch-export in torch.export.load(FILE).module(); none needs aevb.")
    p = verbs.add_parser("export", help="the encoder and decoder as ONNX, TorchScript or torch.export files",
                         description=description)
    p.add_argument("run", type=Path, metavar="RUN", help="run directory (or a directory written by model.save)")
    p.add_argument("--format", default="onnx", choices=sorted(FORMATS), help="(default: onnx)")
    p.add_argument("--out", type=Path, help="directory to write (default: RUN/export-FORMAT)")
    p.set_defaults(handler=run_export)
