"""Early stopping on tables: VariationalAutoencoder(early_stopping=True) against 300 fixed passes.

    python benchmarks/early_stopping.py [--seeds 3] [--fixed-epochs 300]

For scikit-learn's breast_cancer, wine and diabetes tables, each seed splits the rows 75 / 25, standardises
the columns on the training rows, and fits the estimator with its default network three times: the old
default (100 passes of 100 rows a step), 300 passes with early stopping off, and the defaults: early stopping
on (10 % of the training rows held out, their IWAE bound L_50 watched after every pass, patience 20 passes,
tol 0.01 nats, at most 1000 passes). The last two take batch_size="auto" (about 20 steps a pass). Printed per table: the held-out log p(x) per row
(importance sampled, k = 1000; mean over seeds ± standard error of that mean), the passes run and the
seconds per fit, as a Markdown table (docs/tables.md shows it), and the CPU.
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from aevb.sklearn import VariationalAutoencoder

TABLES = {"breast_cancer": load_breast_cancer, "wine": load_wine, "diabetes": load_diabetes}


def fit_and_score(X_train, X_test, seed: int, **options) -> tuple[float, int, float]:
    """(held-out log p(x) per row, passes run, seconds) of one fit."""
    started = time.perf_counter()
    est = VariationalAutoencoder(random_state=seed, **options).fit(X_train)
    seconds = time.perf_counter() - started
    return est.score(X_test), est.n_iter_, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--fixed-epochs", type=int, default=300)
    args = parser.parse_args()
    settings = {"100 passes, M = 100": dict(epochs=100, batch_size=100, early_stopping=False),
                f"{args.fixed_epochs} passes": dict(epochs=args.fixed_epochs, early_stopping=False),
                "defaults (early stopping)": dict(early_stopping=True)}
    print(f"CPU: {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads; "
          f"{args.seeds} seeds; held-out log p(x) in nats per row (k = 1000)\n")
    print("| table | " + " | ".join(f"{name}: log p(x) | passes | s" for name in settings) + " |")
    print("|---|" + "---|---|---|" * len(settings))
    for table, load in TABLES.items():
        X = load().data.astype(np.float64)
        results = {name: [] for name in settings}
        for seed in range(args.seeds):
            X_train, X_test = train_test_split(X, test_size=0.25, random_state=seed)
            scaler = StandardScaler().fit(X_train)
            for name, options in settings.items():
                results[name].append(fit_and_score(scaler.transform(X_train), scaler.transform(X_test), seed,
                                                   **options))
        cells = []
        for name in settings:
            scores, passes, seconds = map(np.array, zip(*results[name]))
            cells.append(f"{scores.mean():.2f} ± {scores.std(ddof=1) / np.sqrt(len(scores)):.2f} | "
                         f"{passes.mean():.0f} | {seconds.mean():.1f}")
        print(f"| {table} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
