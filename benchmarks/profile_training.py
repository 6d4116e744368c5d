"""Where the time of aevb's training step goes: torch.profiler over a short run of the paper's MNIST
model (784-500-20, tanh, Bernoulli, M = 100, L = 1, Adam), the operators sorted by their own CPU time.

    python benchmarks/profile_training.py [--samples 100000] [--precision fp32|bf16] [--rows 25]
"""

import argparse
import tempfile
import time

import torch
from torch.profiler import ProfilerActivity, profile

import aevb


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=100_000, help="datapoints to train on while profiling")
    parser.add_argument("--precision", default="fp32", choices=sorted(aevb.training.config.PRECISIONS))
    parser.add_argument("--rows", type=int, default=25, help="operators to list")
    args = parser.parse_args()
    data = aevb.datasets.load("mnist", log=lambda *a: None)
    config = aevb.TrainConfig(epochs=None, max_samples=args.samples, eval_every=10**12, precision=args.precision)
    torch.manual_seed(0)
    model = aevb.VAE(784, 20, hidden=(500,))
    with profile(activities=[ProfilerActivity.CPU]) as profiler, tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        aevb.train(model, data, config, out, progress=False, log=lambda *a: None)
        seconds = time.perf_counter() - start
    steps = args.samples // config.batch_size
    print(f"{steps} steps in {seconds:.1f} s with the profiler on (it adds its own overhead per operator), "
          f"{1000 * seconds / steps:.2f} ms per step including one evaluation at the end")
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
