"""Anomaly scores: ROC AUC of aevb's log p(x) against scikit-learn's detectors, on data that ships offline.

    python benchmarks/anomaly.py [--epochs 200]

- digits, one class held out: for each class c, train on the training rows of the other nine classes
  (a stratified half of scikit-learn's 8×8 digits), score every test row; class c is the anomaly.
- breast_cancer: train on half of the benign rows; the other benign rows and every malignant row are
  scored; malignant is the anomaly.

aevb scores −log p(x) (importance sampling, k = 1000) on the raw values, with a likelihood per column
(Poisson for the digits' pixel counts 0..16, chosen from the values for breast_cancer); every other detector sees the columns standardised on the training rows. Printed: a Markdown
table of ROC AUC per task (docs/tables.md shows it) and the CPU.
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from aevb.sklearn import VariationalAutoencoder


def pca_error(train, test):
    """Squared reconstruction error from the principal components that keep 90 % of the variance."""
    pca = PCA(n_components=0.9, random_state=0).fit(train)
    return ((test - pca.inverse_transform(pca.transform(test))) ** 2).sum(1)


def knn_distance(train, test):
    """Mean distance to the 5 nearest training rows."""
    return NearestNeighbors(n_neighbors=5).fit(train).kneighbors(test)[0].mean(1)


def detectors(epochs: int, latent_dim: int) -> dict:
    """name → (train rows, test rows) → anomaly score per test row (higher: more anomalous)."""
    def scaled(detector):
        def score(train, test):
            scaler = StandardScaler().fit(train)
            return detector(scaler.transform(train), scaler.transform(test))
        return score

    def vae(train, test):
        # The digits' pixels are counts 0..16 (a pixel that is 0 or 1 in every training row would be chosen
        # binary, and a test row could not be scored); breast_cancer's columns keep the types chosen.
        types = {str(d): "count" for d in range(train.shape[1])} if train.shape[1] == 64 else None
        model = VariationalAutoencoder(hidden=(128,), latent_dim=latent_dim, epochs=epochs, batch_size=64,
                                       score_k=1000, column_types=types, random_state=0).fit(train)
        return -model.score_samples(test)

    fitted = lambda make: scaled(lambda train, test: -make().fit(train).score_samples(test))    # noqa: E731
    return {
        "aevb VAE (−log p(x))": vae,
        "IsolationForest": fitted(lambda: IsolationForest(random_state=0)),
        "LocalOutlierFactor (novelty)": fitted(lambda: LocalOutlierFactor(novelty=True)),
        "OneClassSVM": fitted(lambda: OneClassSVM(gamma="scale", nu=0.1)),
        "GaussianMixture (5, full)": fitted(lambda: GaussianMixture(5, reg_covar=1e-3, random_state=0)),
        "PCA reconstruction error": scaled(pca_error),
        "k-NN distance (k = 5)": scaled(knn_distance),
    }


def tasks():
    """name → (train rows, test rows, test is-anomaly)."""
    digits = load_digits()
    train, test, y_train, y_test = train_test_split(digits.data, digits.target, test_size=0.5,
                                                    stratify=digits.target, random_state=0)
    found = {f"digits, {c} held out": (train[y_train != c], test, test_target == c)
             for c, test_target in ((c, y_test) for c in range(10))}
    cancer = load_breast_cancer()
    benign, malignant = cancer.data[cancer.target == 1], cancer.data[cancer.target == 0]
    normal_train, normal_test = train_test_split(benign, test_size=0.5, random_state=0)
    found["breast_cancer, malignant"] = (normal_train, np.concatenate([normal_test, malignant]),
                                         np.r_[np.zeros(len(normal_test), bool), np.ones(len(malignant), bool)])
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=200, help="aevb's training epochs (default: 200)")
    parser.add_argument("--latent-dim", type=int, default=8, help="aevb's latent dimension (default: 8)")
    args = parser.parse_args()
    methods = detectors(args.epochs, args.latent_dim)
    print(f"ROC AUC (anomaly = the held-out class); CPU: {torch.backends.cpu.get_cpu_capability()}, "
          f"{torch.get_num_threads()} threads\n")
    print("| task | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 1) + "|")
    totals, seconds = {name: [] for name in methods}, {name: 0.0 for name in methods}
    for task, (train, test, anomalous) in tasks().items():
        row = []
        for name, score in methods.items():
            start = time.perf_counter()
            auc = roc_auc_score(anomalous, score(train, test))
            seconds[name] += time.perf_counter() - start
            totals[name].append(auc)
            row.append(f"{auc:.3f}")
        print(f"| {task} | " + " | ".join(row) + " |", flush=True)
    digits_mean = {name: np.mean(values[:10]) for name, values in totals.items()}
    print("| digits, mean of 10 | " + " | ".join(f"{v:.3f}" for v in digits_mean.values()) + " |")
    print("| seconds, all tasks | " + " | ".join(f"{v:.0f}" for v in seconds.values()) + " |")


if __name__ == "__main__":
    main()
