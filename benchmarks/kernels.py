"""oneDNN's linear against MKL's GEMM on this CPU, for the matrix products of the paper's MNIST model.

`aevb.kernels.dense` sends float32 products to oneDNN on AVX-512 CPUs and to MKL elsewhere. This script shows
whether that choice is right on the machine at hand: the five large products of one training step
(784-500-20, M = 100) on each kernel, then the whole training step (hand-written pass, fused Adam, byte
binarisation) with each, alternating blocks of steps in one process; medians and bests of the repeats.

    python benchmarks/kernels.py [--repeats 15] [--steps 200]
"""

import argparse
import statistics
import time

import torch

import aevb
from aevb.datasets.binarization import BINARIZATIONS
from aevb.kernels import dense, fused_elbo
from aevb.kernels.fused_step import fused_step


def milliseconds(function, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls * 1e3


def products() -> dict[str, tuple]:
    """name → (oneDNN call, MKL call) of each large product of a step, as `dense` makes them."""
    linear = torch.ops.mkldnn._linear_pointwise
    x = (torch.rand(100, 784) < 0.13).float()                                  # a binarised minibatch
    w1, b1, w4, b4 = torch.randn(500, 784), torch.randn(500), torch.randn(784, 500), torch.randn(784)
    h, grad_logits, grad_h = torch.rand(100, 500), torch.randn(100, 784), torch.randn(100, 500)
    return {
        "encoder tanh(x W1ᵀ + b1)": (lambda: linear(x, w1, b1, "tanh", [], ""),
                                     lambda: torch.addmm(b1, x, w1.t()).tanh()),
        "logits h W4ᵀ + b4": (lambda: linear(h, w4, b4, "none", [], ""), lambda: torch.addmm(b4, h, w4.t())),
        "dW4 = gᵀ h": (lambda: linear(grad_logits.t(), h.t(), None, "none", [], ""),
                       lambda: torch.mm(grad_logits.t(), h)),
        "dh = g W4": (lambda: linear(grad_logits, w4.t(), None, "none", [], ""), lambda: torch.mm(grad_logits, w4)),
        "dW1 = gᵀ x": (lambda: linear(grad_h.t(), x.t(), None, "none", [], ""), lambda: torch.mm(grad_h.t(), x)),
    }


def training_step():
    """One training step of the paper's MNIST model as `aevb.train` takes it; returns a callable."""
    data = aevb.datasets.load("mnist", log=lambda *a: None)
    binarization = BINARIZATIONS["dynamic"]
    train = binarization.prepare(data.train, 0)
    torch.manual_seed(0)
    model = aevb.VAE(784, 20, hidden=(500,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    batches = torch.randperm(len(train)).split(100)
    position = [0]

    def step():
        indices = batches[position[0] % len(batches)]
        position[0] += 1
        x = binarization.per_batch(train.index_select(0, indices))
        fused_elbo.bound_and_gradients(model, x, torch.randn(1, 100, 20), 1.0, -1 / 100)
        fused_step(optimizer)
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15, help="alternating timings of each kernel")
    parser.add_argument("--steps", type=int, default=200, help="training steps per timed block")
    args = parser.parse_args()
    if not dense.ONEDNN:
        raise SystemExit("this PyTorch has no oneDNN linear (torch.ops.mkldnn._linear_pointwise): nothing to compare")
    print(f"CPU: {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
          f"aevb sends float32 products to {'oneDNN' if dense.ONEDNN_FP32 else 'MKL'}")

    kernels = products()
    timings = {name: ([], []) for name in kernels}
    for _ in range(args.repeats):
        for name, calls in kernels.items():
            for kernel, call in enumerate(calls):
                call()
                timings[name][kernel].append(milliseconds(call, 50))
    print(f"{'product (M = 100)':<26} {'oneDNN':>8} {'MKL':>8}   (median ms)")
    for name, (onednn, mkl) in timings.items():
        print(f"{name:<26} {statistics.median(onednn):8.3f} {statistics.median(mkl):8.3f}")
    totals = [sum(statistics.median(kernel[i]) for kernel in timings.values()) for i in (0, 1)]
    print(f"{'the five':<26} {totals[0]:8.3f} {totals[1]:8.3f}")

    step, chosen = training_step(), dense.ONEDNN_FP32
    best = {True: float("inf"), False: float("inf")}
    try:
        for _ in range(args.repeats):
            for onednn in (True, False):
                dense.ONEDNN_FP32 = onednn
                step()
                best[onednn] = min(best[onednn], milliseconds(step, args.steps))
    finally:
        dense.ONEDNN_FP32 = chosen
    print(f"training step, best of {args.repeats} blocks of {args.steps}: oneDNN {best[True]:.3f} ms, "
          f"MKL {best[False]:.3f} ms")


if __name__ == "__main__":
    main()
