"""The paper's Figures 4 and 5: what AEVB models of `figure2`'s kind have learned, as pictures.

- Figure 4 (`aevb reproduce figure4`): the learned 2-D manifolds, Nz = 2, decoded means on a 20 × 20
  grid of latent values spaced by the inverse Gaussian CDF; MNIST, and Frey Face when its file is in a
  data directory.
- Figure 5 (`aevb reproduce figure5`): 100 random samples (means of p(x|z), z ~ p(z)) from MNIST models
  with Nz ∈ {2, 5, 10, 20}.

Training as in `figure2` (Adagrad 0.02, M = 100, MAP prior, the paper's initialisation; 500 tanh units
for MNIST, 200 for Frey Face). Writes one PNG per model and a markdown summary that shows them with each
model's final train / test ELBO; runs resume like every experiment's.
"""

from __future__ import annotations

from pathlib import Path

from ..apps.pictures import grid_png, samples_png
from ..apps.views import decoded_means, latent_plane
from ..io.files import write_bytes_atomic
from ..io.run_directory import read_metrics
from ..model import load
from . import figure2, runs

DEFAULT_BUDGET = 1_000_000
LATENT_DIMS = {"figure4": {"mnist": (2,), "frey": (2,)}, "figure5": {"mnist": (2, 5, 10, 20)}}
GRID = 20


def run(name: str, out: Path, budget=DEFAULT_BUDGET, data_dir=None, jobs: int = 1, progress: bool = True,
        log=print) -> Path:
    """Figure `name` ("figure4" or "figure5") into `out`."""
    found = {k: v for k, v in figure2.data_sets(data_dir, log).items() if k in LATENT_DIMS[name]}
    planned = figure2.plan(out, found, budget, data_dir, methods=("AEVB",), latent_dims=LATENT_DIMS[name])
    runs.complete(planned, jobs, progress, log)
    lines = [f"# {name.capitalize()}: {'learned 2-D manifolds' if name == 'figure4' else 'random samples'}", "",
             f"AEVB, budget {budget} datapoints per run, trained as in figure2.", "",
             "| data | Nz | picture | train / test ELBO | samples |", "|---|---|---|---|---|"]
    for planned_run in planned:
        model, data_name = load(planned_run.directory), planned_run.labels["data"]
        latent_dim = planned_run.labels["latent_dim"]
        picture = f"{data_name}-nz{latent_dim}.png"
        if name == "figure4":
            images = decoded_means(model, latent_plane(model, GRID)).cpu().numpy()
            title = (f"{data_name}, Nz = 2: decoder means on a {GRID}×{GRID} grid of z_0 (columns) and z_1 (rows, "
                     "bottom to top), spaced by the inverse Gaussian CDF")
            write_bytes_atomic(out / picture, grid_png(images.reshape(-1, *found[data_name].image_shape),
                                                       columns=GRID, title=title))
        else:
            title = f"{data_name}, Nz = {latent_dim}: means of p(x|z) for 100 draws z ~ N(0, I)"
            write_bytes_atomic(out / picture, samples_png(model, found[data_name].image_shape, n=100, seed=0,
                                                          title=title))
        last = read_metrics(planned_run.directory)[-1]
        lines.append(f"| {data_name} | {latent_dim} | ![{picture}]({picture}) | {last['train_elbo']:.1f} / "
                     f"{last['test_elbo']:.1f} | {last['samples_seen']:,} |")
    write_bytes_atomic(out / f"{name}.md", ("\n".join(lines) + "\n").encode())
    return out
