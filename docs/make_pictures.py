"""Make the pictures of docs/pictures.md from a trained MNIST run, and measure inpainting against the mean image.

    python docs/make_pictures.py runs/mnist-DATE-TIME [--n 1000]

Writes docs/manifold-mnist-default.png (the manifold in the plane of the first two principal components
of the test set's latent means) and docs/inpainting-mnist-default.png (test digits, the same with their
bottom half missing, and the inpainted result of `aevb inpaint`'s default, importance sampling), and prints
the mean squared error on the missing pixels of the first N test images for both inpainting methods and
for the mean-image fill.
"""

import argparse
from pathlib import Path

import torch

import aevb
from aevb.apps.inference import inpaint
from aevb.apps.pictures import grid_png
from aevb.apps.views import decoded_means, latent_plane, principal_plane
from aevb.datasets.binarization import fixed_draw
from aevb.estimators.diagnostics import latent_means
from aevb.estimators.imputation import impute
from aevb.io.files import write_bytes_atomic

DOCS = Path(__file__).parent


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--n", type=int, default=1000, help="test images for the inpainting error (default: 1000)")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = aevb.load(args.run)
    data = aevb.datasets.load("mnist", log=lambda *a: None)
    test = fixed_draw(data.test, seed=0)

    centre, basis = principal_plane(latent_means(model, test))
    z = centre + latent_plane(model, 15, basis=basis)
    title = (f"{args.run.name}: decoder means on a 15×15 grid of the first (columns) and second (rows) principal "
             "components of the test set's E[z|x], spaced by the inverse Gaussian CDF")
    write_bytes_atomic(DOCS / "manifold-mnist-default.png",
                       grid_png(decoded_means(model, z).view(-1, 28, 28), 15, title=title))

    x = test[: args.n]
    missing = torch.zeros_like(x, dtype=torch.bool)
    missing.view(-1, 28, 28)[:, 14:] = True                                  # the bottom half
    chain = inpaint(model, x, missing, steps=500, burn_in=100)
    filled = impute(model, torch.where(missing, torch.nan, x), k=1000, seed=0)
    mean_fill = torch.where(missing, data.train.mean(0).expand_as(x), x)
    shown = torch.where(missing, torch.full_like(x, 0.5), x)
    title = (f"{args.run.name}: binarised test digits (top row), their known top halves (middle), the bottom "
             "halves inpainted by importance sampling (bottom)")
    write_bytes_atomic(DOCS / "inpainting-mnist-default.png",
                       grid_png(torch.cat([x[:10], shown[:10], filled[:10]]).view(-1, 28, 28), 10, title=title))
    error = lambda guess: ((guess - x)[missing] ** 2).mean().item()
    print(f"bottom halves of the first {args.n} binarised test digits, mean squared error on the missing pixels: "
          f"importance sampling {error(filled):.4f}, Metropolis-within-Gibbs {error(chain):.4f}, "
          f"mean-image fill {error(mean_fill):.4f}")


if __name__ == "__main__":
    main()
