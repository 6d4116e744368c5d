"""Time aevb's importance-sampled log p(x) against a straightforward loop, in one process.

The plain reference is what one writes first: for each test image, draw all k samples at once, score
them with `model.decode(z).log_prob(x)` and take a logsumexp — with the layers' products on MKL, as
`nn.Linear` computes them, even where aevb would use oneDNN (AVX-512). Both run on the same model and images;
the script prints each time, the ratio, the time projected to the whole 10 000-image test set, and the
mean estimates (which must agree within their standard errors).

    python benchmarks/log_likelihood.py [--run RUN] [--n 100] [--k 5000]

Without --run it trains the paper's MNIST model (784-500-20, tanh, Bernoulli) for 2 epochs first.
"""

import argparse
import math
import tempfile
import time

import torch

import aevb
from aevb.datasets.binarization import fixed_draw
from aevb.estimators.importance import importance_sampling


@torch.no_grad()
def plain_loop(model, x: torch.Tensor, k: int) -> torch.Tensor:
    aevb.kernels.dense.ONEDNN_FP32, saved = False, aevb.kernels.dense.ONEDNN_FP32    # MKL's addmm, as nn.Linear
    try:
        return _plain_loop(model, x, k)
    finally:
        aevb.kernels.dense.ONEDNN_FP32 = saved


def _plain_loop(model, x: torch.Tensor, k: int) -> torch.Tensor:
    estimates = []
    for row in x:
        q = model.encode(row)
        z = q.sample((k,))                                                      # [k, Nz]
        log_w = model.decode(z).log_prob(row) + model.prior.log_prob(z) - q.log_prob(z)
        estimates.append(torch.logsumexp(log_w, 0) - math.log(k))
    return torch.stack(estimates)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a run directory of an MNIST model (default: train one for 2 epochs)")
    parser.add_argument("--n", type=int, default=100, help="test images (default: 100)")
    parser.add_argument("--k", type=int, default=5000, help="importance samples (default: 5000)")
    args = parser.parse_args()
    data = aevb.datasets.load("mnist", log=lambda *a: None)
    if args.run:
        model = aevb.load(args.run)
    else:
        torch.manual_seed(0)
        model = aevb.VAE(784, 20, hidden=(500,))
        aevb.train(model, data, aevb.TrainConfig(epochs=2), tempfile.mkdtemp(), progress=False, log=lambda *a: None)
    x = fixed_draw(data.test, seed=0)[: args.n]
    print(f"model 784-500-20 tanh Bernoulli, {args.n} test images, k = {args.k}, {torch.get_num_threads()} threads")

    torch.manual_seed(1)
    start = time.perf_counter()
    plain = plain_loop(model, x, args.k)
    plain_seconds = time.perf_counter() - start
    torch.manual_seed(2)
    start = time.perf_counter()
    ours = importance_sampling(model, x, args.k).log_likelihood
    our_seconds = time.perf_counter() - start

    scale = 10_000 / args.n
    for name, seconds, values in (("plain loop", plain_seconds, plain), ("aevb", our_seconds, ours)):
        stderr = values.std().item() / math.sqrt(len(values))
        print(f"{name:>10}: {seconds:7.2f} s ({seconds * scale / 60:5.2f} min projected to 10 000 images); "
              f"mean log p(x) {values.mean().item():9.3f} ± {stderr:.3f}")
    difference = ours - plain
    print(f"speed-up {plain_seconds / our_seconds:.2f}x; mean difference {difference.mean().item():+.4f} "
          f"± {difference.std().item() / math.sqrt(len(difference)):.4f} nats (independent draws)")


if __name__ == "__main__":
    main()
