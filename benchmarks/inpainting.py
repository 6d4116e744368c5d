"""MNIST bottom halves: the mean squared error on the missing pixels of aevb's two ways of filling them,
against the mean training image and k-nearest neighbours on the known top halves.

    python benchmarks/inpainting.py RUN [--n 1000] [--k 1000]

RUN is an MNIST run (the default `aevb train`). The first N test digits, binarised with the reports'
fixed seed, lose their bottom 14 rows. Printed: a Markdown table of the error and the seconds of each
method (docs/tables.md shows it), and the CPU.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.impute import KNNImputer

import aevb
from aevb.apps.inference import inpaint
from aevb.datasets.binarization import fixed_draw
from aevb.estimators.imputation import impute


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--n", type=int, default=1000, help="test digits (default: 1000)")
    parser.add_argument("--k", type=int, default=1000, help="importance samples per digit (default: 1000)")
    parser.add_argument("--knn-train", type=int, default=50000, help="training digits KNNImputer searches (default: all 50 000)")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = aevb.load(args.run).eval()
    data = aevb.datasets.load("mnist", log=lambda *a: None)
    x = fixed_draw(data.test, seed=0)[: args.n]                                          # [N, 784] binary
    missing = torch.zeros_like(x, dtype=torch.bool)
    missing.view(-1, 28, 28)[:, 14:] = True                                             # the bottom half
    holed = torch.where(missing, torch.nan, x)
    train = fixed_draw(data.train, seed=1)[: args.knn_train].numpy()

    def knn():
        imputer = KNNImputer(n_neighbors=50).fit(np.concatenate([train, holed.numpy()]))
        return torch.from_numpy(imputer.transform(holed.numpy()))

    methods = {
        "mean training image": lambda: torch.where(missing, data.train.mean(0).expand_as(x), x),
        f"KNNImputer (k = 50, {args.knn_train:,} training digits)": knn,
        "aevb: Metropolis-within-Gibbs (500 steps, 100 burn-in)":
            lambda: inpaint(model, x, missing, steps=500, burn_in=100),
        f"aevb: importance sampling (k = {args.k})": lambda: impute(model, holed, args.k, seed=0),
    }
    print(f"MNIST bottom halves, the first {args.n:,} binarised test digits, run {args.run} "
          f"(CPU: {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads)\n")
    print("| method | MSE on missing pixels | seconds |")
    print("|---|---|---|")
    for name, method in methods.items():
        start = time.perf_counter()
        filled = method().to(x.dtype)
        seconds = time.perf_counter() - start
        assert torch.equal(filled[~missing], x[~missing])                               # known pixels unchanged
        print(f"| {name} | {((filled - x)[missing] ** 2).mean().item():.4f} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
