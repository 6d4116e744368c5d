"""More than one process with torch.distributed: set-up from torchrun's environment, and the slice of
each global minibatch that this process computes.

Every process draws the same random numbers (same seed, same order) for the whole global minibatch
and keeps only its own rows, so a run on N processes computes what a single process computes with the
same global batch, up to the order of floating-point sums.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_environment(device: torch.device) -> torch.device:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, ...): gloo on the CPU, NCCL on
    GPUs, one GPU per local rank. Returns the device this process should use."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Rank 0 writes metrics, checkpoints and pictures, and shows progress."""
    return rank() == 0


def all_true(flag: torch.Tensor) -> bool:
    """Whether a boolean scalar is true on every process (one all-reduce when there are several)."""
    if dist.is_initialized() and dist.get_world_size() > 1:
        flag = flag.to(torch.int32)
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag)


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def my_rows(batch_size: int) -> slice:
    """The contiguous block of a global minibatch of `batch_size` rows that this process computes."""
    size, me = world_size(), rank()
    start = me * batch_size // size
    return slice(start, (me + 1) * batch_size // size)


def shut_down() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
