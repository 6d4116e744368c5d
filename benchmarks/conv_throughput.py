"""Training throughput of aevb's convolutional VAE (`--arch conv`) against a tutorial-style PyTorch loop of
the same network, in one process.

The plain loop is written the way the Keras and PyTorch tutorials write a convolutional VAE: nn.Conv2d
(4×4, stride 2, padding 1) with 32 and 64 channels down, nn.Linear heads for μ and log σ², nn.Linear up to a
64×7×7 map, nn.ConvTranspose2d back up, a 1×1 nn.Conv2d to the logits, tanh between layers (aevb's
default), binary cross-entropy plus the analytic KL, Adam 1e-3, minibatches of 100 on dynamically binarised
MNIST. Both train for the same number of datapoints from the same seed; the script prints samples per second,
the ratio, and the test ELBO each reached on the first 1000 test digits (they must agree within noise).

    python benchmarks/conv_throughput.py [--samples 20000] [--rounds 3]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import aevb
from aevb.datasets.binarization import fixed_draw


class TutorialConvVAE(nn.Module):
    def __init__(self, latent=20):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.Tanh(), nn.Conv2d(32, 64, 4, 2, 1), nn.Tanh())
        self.mu, self.logvar = nn.Linear(64 * 7 * 7, latent), nn.Linear(64 * 7 * 7, latent)
        self.up_dense = nn.Linear(latent, 64 * 7 * 7)
        self.up = nn.Sequential(nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.Tanh(), nn.ConvTranspose2d(32, 32, 4, 2, 1),
                                nn.Tanh(), nn.Conv2d(32, 1, 1))

    def forward(self, x):
        h = self.down(x.view(-1, 1, 28, 28)).flatten(1)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.up(torch.tanh(self.up_dense(z)).view(-1, 64, 7, 7)).flatten(1)
        return logits, mu, logvar


def plain_loss(logits, x, mu, logvar):
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + kld) / len(x)


def train_plain(train, samples, batch_size, seed):
    torch.manual_seed(seed)
    model = TutorialConvVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start, seen = time.perf_counter(), 0
    while seen < samples:
        for indices in torch.randperm(len(train)).split(batch_size):
            x = torch.bernoulli(train[indices])
            optimizer.zero_grad()
            logits, mu, logvar = model(x)
            loss = plain_loss(logits, x, mu, logvar)
            loss.backward()
            optimizer.step()
            seen += len(x)
            if seen >= samples:
                break
    return model, time.perf_counter() - start


@torch.no_grad()
def plain_test_elbo(model, test):
    torch.manual_seed(1234)
    logits, mu, logvar = model(test)
    return -plain_loss(logits, test, mu, logvar).item()


def train_aevb(data, samples, batch_size, seed):
    """aevb.train with one evaluation, at the end; its time is the `seconds` of that evaluation's metrics row,
    taken before the evaluation starts (the loop alone, as for the plain loop)."""
    torch.manual_seed(seed)
    model = aevb.VAE(784, 20, hidden=(32, 64), arch="conv", image_shape=(1, 28, 28))
    config = aevb.TrainConfig(epochs=None, max_samples=samples, batch_size=batch_size, seed=seed,
                              eval_every=10**12)
    out = Path(tempfile.mkdtemp())
    aevb.train(model, data, config, out, progress=False, log=lambda *a: None)
    return model, json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20_000, help="datapoints each contestant trains on")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed runs of each; the best counts")
    args = parser.parse_args()
    data = aevb.datasets.load("mnist", log=lambda *a: None)
    test = fixed_draw(data.test[:1000], seed=0)
    print(f"conv 32,64 (28×28 → 7×7), Nz = 20, tanh, Bernoulli, M = {args.batch_size}, L = 1, Adam 1e-3, "
          f"{args.samples:,} samples, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"CPU {torch.backends.cpu.get_cpu_capability()}")
    contestants = {"plain loop": lambda: train_plain(data.train, args.samples, args.batch_size, args.seed),
                   "aevb": lambda: train_aevb(data, args.samples, args.batch_size, args.seed)}
    best, models = dict.fromkeys(contestants, float("inf")), {}
    for round_ in range(args.rounds):            # alternated: the machine's speed drifts from minute to minute
        for name, run in contestants.items():
            models[name], seconds = run()
            best[name] = min(best[name], seconds)
        print(f"round {round_ + 1}: " + ", ".join(f"{name} {args.samples / s:,.0f}" for name, s in best.items())
              + " samples/s (best so far)", flush=True)
    print(f"ratio to the plain loop: aevb {best['plain loop'] / best['aevb']:.2f}x")
    elbo = aevb.evaluate_elbo(models["aevb"], test, seed=1234)
    print(f"test ELBO, first 1000 digits (fixed binarisation, L = 1): plain {plain_test_elbo(models['plain loop'], test):.2f}, "
          f"aevb {elbo.mean:.2f} ± {elbo.stderr:.2f} nats")


if __name__ == "__main__":
    main()
