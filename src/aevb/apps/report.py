"""`aevb report RUN`: one self-contained HTML file — configuration, training curves, the evaluation
table, samples, the manifold and reconstructions — with every picture embedded as a data: URI, so it
opens in a browser with no server and no network."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import torch

from ..estimators.diagnostics import latent_means
from ..estimators.diagnostics import report as evaluation
from ..io.checkpoint import read_config
from ..io.files import write_bytes_atomic
from ..io.run_directory import read_metrics
from ..model import load
from .pictures import curves_png, grid_png, samples_png
from .views import decoded_means, latent_plane, principal_plane, reconstructions

STYLE = """body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
td.number{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%;image-rendering:pixelated}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em}figure{margin:1em 0}figcaption{color:#555}"""


def _image(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode()
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _table(rows: list[tuple[str, object]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v) if isinstance(v, (list, dict)) else str(v))}</td></tr>"
                    for k, v in rows)
    return f"<table>{cells}</table>"


def run_title(run: Path) -> str:
    """The run's directory and main settings in one line, e.g. "runs/mnist-… (784-500-20 tanh, bernoulli,
    mnist, 500,000 datapoints seen)", for the title of every picture made from it."""
    document = read_config(run)
    model, data = document["model"], (document.get("train") or {}).get("data")
    widths = "-".join(str(w) for w in (model["data_dim"], *model["hidden"], model["latent_dim"]))
    rows = read_metrics(run)
    settings = [f"{widths} {model['activation']}", model["likelihood"], *([Path(data).name] if data else []),
                *([f"{rows[-1]['samples_seen']:,} datapoints seen"] if rows else [])]
    return f"{run} ({', '.join(str(s) for s in settings)})"


def build_report(run: Path, test_x: torch.Tensor | None, k: int = 0) -> str:
    """The HTML text of the report on the run directory `run`; `test_x` [N, D] (binarised as in
    training's reports) feeds the evaluation, the reconstructions and, for Nz > 2, the manifold's plane."""
    document = read_config(run)
    model = load(run)
    shape = (document.get("data") or {}).get("image_shape")
    parts = [f"<h1>aevb run {html.escape(run.name)}</h1>",
             f"<p>{html.escape(str(run.resolve()))}</p>", "<h2>Configuration</h2>"]
    for section in ("model", "train", "data"):
        if section in document:
            parts += [f"<h3>{section}</h3>", _table(list(document[section].items()))]
    parts.insert(1, f"<p>{html.escape(run_title(run))}</p>")
    rows = read_metrics(run)
    if rows:
        parts += ["<h2>Training</h2>", _image(curves_png(rows, run_title(run)), "train and test ELBO against datapoints seen")]
    if test_x is not None:
        figures = evaluation(model, test_x, k=k)
        numbers = [("datapoints", figures["n"]), ("ELBO (nats per datapoint)", f"{figures['elbo']:.3f} ± {figures['elbo_stderr']:.3f}")]
        if k:
            numbers += [(f"log p(x), importance sampled, k = {k}",
                         f"{figures['log_likelihood']:.3f} ± {figures['log_likelihood_stderr']:.3f}"),
                        ("gap log p(x) − ELBO", f"{figures['gap']:.3f} ± {figures['gap_stderr']:.3f}"),
                        ("bits per dimension", f"{figures['bits_per_dim']:.4f}" if "bits_per_dim" in figures
                         else f"none: {figures['no_bits_per_dim']}")]
        numbers += [("KL(q ‖ p)", f"{figures['kl']:.3f}"),
                    ("active units", f"{figures['active_units']} of {figures['latent_dim']}")]
        parts += ["<h2>Evaluation on the test split</h2>", _table(numbers)]
    if shape is not None:
        parts += ["<h2>Pictures</h2>", _image(samples_png(model, shape, 100), "means of p(x|z) for z ~ N(0, I)")]
        latent_dim, n = model.config.latent_dim, 15
        if latent_dim == 2:
            parts.append(_image(grid_png(decoded_means(model, latent_plane(model, n)).numpy().reshape(-1, *shape), n),
                                "the learned manifold: a grid on the unit square through the inverse Gaussian CDF"))
        elif latent_dim > 2 and test_x is not None:
            centre, basis = principal_plane(latent_means(model, test_x))
            z = centre + latent_plane(model, n, basis=basis)
            parts.append(_image(grid_png(decoded_means(model, z).numpy().reshape(-1, *shape), n),
                                "the manifold in the plane of the first two principal components of E[z|x]"))
        if test_x is not None:
            x = test_x[:12]
            both = torch.cat([x, reconstructions(model, x)]).numpy().reshape(-1, *shape)
            parts.append(_image(grid_png(both, len(x)), "test images (top) and their reconstructions (bottom)"))
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>aevb run {html.escape(run.name)}'
            f"</title><style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def write_report(run: Path, out: Path, test_x: torch.Tensor | None, k: int = 0) -> None:
    write_bytes_atomic(out, build_report(run, test_x, k).encode())
