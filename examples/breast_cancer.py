"""aevb as a scikit-learn estimator on scikit-learn's breast cancer table (569 rows × 30 columns).

    python examples/breast_cancer.py [--epochs N] [--out DIR]

1. A pipeline StandardScaler → VariationalAutoencoder, fitted on the benign tumours of a training split
   (by default until its validation bound stops improving; --epochs N trains N passes instead).
2. Codes: the 2-D latent means of the held-out rows (written to DIR/codes.csv).
3. Anomaly scores: −log p(x) of the held-out rows; how well they separate malignant from benign
   (ROC AUC), beside scikit-learn's own detectors fitted on the same rows.
4. Samples: new rows drawn from the model, back in the table's units.
5. The fitted VAE saved as a run directory that the `aevb` command reads (DIR/run).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from sklearn.covariance import EllipticEnvelope
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aevb.sklearn import VariationalAutoencoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the rows (default: until the validation bound stops improving)")
    parser.add_argument("--out", type=Path, default=Path("breast-cancer"), help="(default: ./breast-cancer)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    table = load_breast_cancer(as_frame=True)
    x, malignant = table.data, table.target == 0                     # target 0: malignant, 1: benign
    x_train, x_test, _, malignant_test = train_test_split(x, malignant, test_size=0.3, random_state=0,
                                                          stratify=malignant)
    benign_train = x_train[~malignant.loc[x_train.index]]
    print(f"training on {len(benign_train)} benign rows; {len(x_test)} held-out rows, "
          f"{int(malignant_test.sum())} of them malignant")

    # 1. The pipeline: standardised columns (as a DataFrame, so the VAE keeps their names) into a VAE.
    stopping = {} if args.epochs is None else {"epochs": args.epochs, "early_stopping": False}
    vae = VariationalAutoencoder(latent_dim=2, hidden=(64,), random_state=0, **stopping)
    pipeline = make_pipeline(StandardScaler().set_output(transform="pandas"), vae).fit(benign_train)
    print(f"train ELBO after {vae.n_iter_} epochs: {vae.history_[-1]['train_elbo']:.2f} nats per row")

    # 2. Codes of the held-out rows, in their order.
    codes = pipeline.set_output(transform="pandas").transform(x_test)
    codes.assign(malignant=malignant_test.to_numpy()).to_csv(args.out / "codes.csv")
    print(f"codes: {codes.shape[0]} rows × {codes.shape[1]} columns {list(codes.columns)} → {args.out / 'codes.csv'}")

    # 3. Anomaly scores: the lower log p(x), the more anomalous. ROC AUC of −log p(x) for "malignant".
    log_likelihood = pipeline.score_samples(x_test)
    print(f"held-out log p(x): benign {log_likelihood[~malignant_test.to_numpy()].mean():.2f}, "
          f"malignant {log_likelihood[malignant_test.to_numpy()].mean():.2f} nats per row")
    scaled_train, scaled_test = (pipeline[0].transform(rows).to_numpy() for rows in (benign_train, x_test))
    detectors = {
        "VAE, −log p(x)": -log_likelihood,
        "GaussianMixture(1, full), −log p(x)": -GaussianMixture(1, random_state=0).fit(scaled_train).score_samples(scaled_test),
        "EllipticEnvelope": -EllipticEnvelope(random_state=0).fit(scaled_train).score_samples(scaled_test),
        "IsolationForest": -IsolationForest(random_state=0).fit(scaled_train).score_samples(scaled_test),
        "LocalOutlierFactor(novelty)": -LocalOutlierFactor(novelty=True).fit(scaled_train).score_samples(scaled_test),
    }
    print("ROC AUC of each detector for malignant tumours (1 = perfect, 0.5 = chance):")
    for name, score in detectors.items():
        print(f"  {name:<38} {roc_auc_score(malignant_test, score):.3f}")

    # 4. Samples, in the table's units (the scaler's inverse), with its column names.
    samples = pd.DataFrame(pipeline[0].inverse_transform(vae.sample(5, random_state=0)), columns=x.columns)
    print("five sampled rows (first four columns):")
    print(samples.iloc[:, :4].round(2).to_string())

    # 5. A run directory: `aevb score DIR/run --data FILE.csv --out scores.csv` reads it.
    run = args.out / "run"
    if not run.exists():
        vae.save(run)
        print(f"saved the VAE to {run}")


if __name__ == "__main__":
    main()
