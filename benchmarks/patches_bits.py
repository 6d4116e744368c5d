"""Bits per dimension on the colour patches (`--data patches`, 32×32×3, 8-bit): aevb's convolutional VAE with
the discretised logistic against scikit-learn's GaussianMixture on the same patches, dequantised.

- aevb: `aevb train --data patches --arch conv --epochs E`, then `aevb evaluate RUN --k K` on the 1 000 test
  patches; the discretised logistic gives log P(x) of the 8-bit levels themselves, so bits/dim =
  −log₂ P(x) / 3072 (its importance-sampled estimate is a stochastic lower bound on log P: an upper bound
  on bits/dim).
- GaussianMixture (full covariance, `reg_covar` 1e-3 on the [0, 1] scale) fitted on the training patches
  dequantised as y = (k + u) / 256 with u ~ U(0, 1) per value; a density p(y) gives the 8-bit levels the
  probability P(k) = ∫ over the level's cube of p ≥ exp(E_u log p(y)) · 256^−D (Jensen), so
  bits/dim ≤ 8 − E_u log p(y) / (D ln 2), estimated with one u per test value.

Writes PREFIX-samples.png and PREFIX-reconstructions.png (colour) beside the table.

    python benchmarks/patches_bits.py [--epochs 100] [--latent-dim 20] [--hidden 32,64] [--k 1000]
                                      [--components 1,4] [--out runs/patches]
"""

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.mixture import GaussianMixture

import aevb

D = 3 * 32 * 32


def aevb_cli(*args):
    subprocess.run([sys.executable, "-m", "aevb", *map(str, args)], check=True)


def gaussian_mixture_bits(train, test, components, seed=0):
    rng = np.random.default_rng(seed)
    dequantise = lambda x: ((np.round(x * 255) + rng.random(x.shape)) / 256).astype(np.float64)  # noqa: E731
    start = time.perf_counter()
    mixture = GaussianMixture(components, covariance_type="full", reg_covar=1e-3, max_iter=50, random_state=seed)
    mixture.fit(dequantise(train))
    log_density = mixture.score_samples(dequantise(test))                                 # [N] nats, log p(y)
    bits = 8 - log_density / (D * math.log(2))                                            # [N]
    return bits.mean(), bits.std(ddof=1) / math.sqrt(len(bits)), time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=100)
    parser.add_argument("--latent-dim", type=int, default=20)
    parser.add_argument("--hidden", default="32,64", help="the conv model's channels")
    parser.add_argument("--k", type=int, default=1000, help="importance samples per test patch")
    parser.add_argument("--components", default="1,4", help="GaussianMixture sizes, comma-separated")
    parser.add_argument("--out", type=Path, default=Path("runs/patches"), help="aevb's run directory")
    parser.add_argument("--pictures", type=Path, default=Path("docs/patches"), help="prefix of the two pictures")
    args = parser.parse_args()
    data = aevb.datasets.load("patches", log=lambda *a: None)
    train, test = data.train.numpy(), data.test.numpy()

    rows = []
    for components in map(int, args.components.split(",")):
        bits, stderr, seconds = gaussian_mixture_bits(train, test, components)
        rows.append((f"GaussianMixture, {components} full-covariance component{'s' * (components > 1)}", bits, stderr,
                     seconds))
        print(rows[-1], flush=True)

    if not (args.out / "config.json").exists():
        aevb_cli("train", "--data", "patches", "--arch", "conv", "--hidden", args.hidden, "--latent-dim",
                 args.latent_dim, "--epochs", args.epochs, "--out", args.out)
    aevb_cli("evaluate", args.out, "--k", args.k, "--json", args.out / "evaluation.json")
    figures = json.loads((args.out / "evaluation.json").read_text())
    seconds = json.loads((args.out / "metrics.jsonl").read_text().splitlines()[-1])["seconds"]
    bits = figures["bits_per_dim"]
    stderr = figures["log_likelihood_stderr"] / (D * math.log(2))
    rows.append((f"aevb conv {args.hidden}, Nz {args.latent_dim}, discretised logistic, {args.epochs:g} epochs, k = {args.k}", bits, stderr,
                 seconds))
    aevb_cli("sample", args.out, "-n", 64, "--out", f"{args.pictures}-samples.png")
    aevb_cli("reconstruct", args.out, "-n", 12, "--out", f"{args.pictures}-reconstructions.png")

    import torch
    print(f"\n1 000 test patches, CPU {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads\n")
    print("| model | bits/dim (test) | fit seconds |\n|---|---|---|")
    for name, bits, stderr, seconds in rows:
        print(f"| {name} | {bits:.3f} ± {stderr:.3f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
