"""Imputation in a table of mixed types: aevb against scikit-learn's imputers.

    python benchmarks/mixed_types.py [--seeds 5] [--missing 0.2] [--epochs 300]

The table is scikit-learn's diabetes data unscaled (442 patients): age in years, sex, the body-mass index
as its WHO class (underweight, normal, overweight, obese), blood pressure, six serum measurements and the
disease progression a year later; aevb chooses each column's type from its values (printed: whole
numbers are counts, sex binary, the class categorical, the rest real). A
fraction of the cells is removed at random (seed s) and filled. Scored: for numbers, the RMSE of the
filled cells in units of each column's standard deviation; for sex and the BMI class, the fraction
filled correctly. aevb's VAEImputer takes the DataFrame as it is (a type per column); scikit-learn's
imputers take the numbers with the class coded 0..3 (standardised for KNNImputer and the iterative
ones), and their fills of sex and the class are rounded to the nearest level. Printed: a Markdown table
(docs/tables.md shows it) and the CPU.
"""

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401 (makes IterativeImputer importable)
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer

from aevb.datasets.tables import infer_specs
from aevb.sklearn import VAEImputer, VariationalAutoencoder

BMI_CLASSES = ["underweight", "normal", "overweight", "obese"]    # WHO cut-offs 18.5, 25, 30 kg/m²
LEVELS = {"sex": [1.0, 2.0], "bmi class": [0.0, 1.0, 2.0, 3.0]}


def diabetes_table() -> pd.DataFrame:
    data = load_diabetes(scaled=False, as_frame=True).frame
    bmi_class = np.digitize(data["bmi"], [18.5, 25, 30])
    return pd.DataFrame({
        "age": data["age"], "sex": (data["sex"] == 2).astype(float),
        "bmi class": pd.Categorical.from_codes(bmi_class, BMI_CLASSES),
        "blood pressure": data["bp"], **{name: data[name] for name in ("s1", "s2", "s3", "s4", "s5", "s6")},
        "progression": data["target"],
    })


def numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as numbers: sex 0/1, the class as its code 0..3 (NaN stays NaN)."""
    return frame.assign(**{"bmi class": frame["bmi class"].cat.codes.replace(-1, np.nan).astype(float)})


def sklearn_fill(imputer, holed: pd.DataFrame, standardise: bool) -> pd.DataFrame:
    given = numeric(holed).to_numpy(dtype=float)
    mean, std = np.nanmean(given, 0), np.nanstd(given, 0)
    filled = imputer.fit_transform((given - mean) / std if standardise else given)
    if standardise:
        filled = np.where(np.isnan(given), filled * std + mean, given)      # observed cells exactly as given
    frame = pd.DataFrame(filled, columns=holed.columns, index=holed.index)
    frame["sex"] = frame["sex"].round().clip(0, 1)
    frame["bmi class"] = pd.Categorical.from_codes(frame["bmi class"].round().clip(0, 3).astype(int), BMI_CLASSES)
    return frame


def methods(seed: int, epochs: int) -> dict:
    forest = RandomForestRegressor(n_estimators=50, n_jobs=-1, random_state=seed)
    return {
        "aevb VAEImputer": lambda holed: VAEImputer(VariationalAutoencoder(
            hidden=(128, 128), latent_dim=8, objective="iwae", k=20, batch_size=64, epochs=epochs, random_state=seed),
            k=1000).fit_transform(holed),
        "SimpleImputer (mean; most frequent class)": lambda holed: sklearn_fill(SimpleImputer(), holed, False).assign(
            **{"bmi class": holed["bmi class"].fillna(holed["bmi class"].mode()[0]),
               "sex": holed["sex"].fillna(holed["sex"].mode()[0])}),
        "KNNImputer": lambda holed: sklearn_fill(KNNImputer(), holed, True),
        "IterativeImputer (BayesianRidge)": lambda holed: sklearn_fill(IterativeImputer(max_iter=20, random_state=seed),
                                                                       holed, True),
        "IterativeImputer (random forest)": lambda holed: sklearn_fill(IterativeImputer(forest, max_iter=5,
                                                                                        random_state=seed), holed, True),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--missing", type=float, default=0.2, help="fraction of cells removed (default: 0.2)")
    parser.add_argument("--epochs", type=int, default=300, help="aevb's training epochs (default: 300)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    table = diabetes_table()
    numbers = [c for c in table.columns if c not in LEVELS]
    spread = table[numbers].std(ddof=0)
    results = {}
    for seed in range(args.seeds):
        holes = np.random.default_rng(seed).random(table.shape) < args.missing
        holed = table.mask(holes)
        for name, method in methods(seed, args.epochs).items():
            start = time.perf_counter()
            filled = method(holed)
            seconds = time.perf_counter() - start
            for c, column in enumerate(table.columns):                       # observed cells unchanged
                kept = ~holes[:, c]
                assert (filled[column][kept].astype(str) == table[column][kept].astype(str)).all(), (name, column)
            squared = [((filled[c][holes[:, i]].astype(float) - table[c][holes[:, i]]) / spread[c]) ** 2
                       for i, c in enumerate(table.columns) if c in numbers]
            right = {c: (filled[c][holes[:, i]].astype(str) == table[c][holes[:, i]].astype(str)).mean()
                     for i, c in enumerate(table.columns) if c in LEVELS}
            results.setdefault(name, []).append((float(np.sqrt(pd.concat(squared).mean())), right["sex"],
                                                 right["bmi class"], seconds))
    types = pd.Series([spec["type"] for spec in infer_specs(table)]).value_counts()
    print(f"diabetes as a mixed table ({len(table)} rows; {', '.join(f'{n} {t}' for t, n in types.items())}), "
          f"{args.missing:.0%} of "
          f"cells missing at random, {args.seeds} seeds, mean ± s.e. (CPU: {torch.backends.cpu.get_cpu_capability()}, "
          f"{torch.get_num_threads()} threads)\n")
    print("| method | numbers: RMSE / s.d. | sex: accuracy | BMI class: accuracy | seconds |")
    print("|---|---|---|---|---|")
    for name, rows in results.items():
        values = np.array(rows)
        mean, stderr = values.mean(0), values.std(0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0 * values[0]
        print(f"| {name} | {mean[0]:.3f} ± {stderr[0]:.3f} | {mean[1]:.3f} ± {stderr[1]:.3f} | "
              f"{mean[2]:.3f} ± {stderr[2]:.3f} | {mean[3]:.1f} |")


if __name__ == "__main__":
    main()
