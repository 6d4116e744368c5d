"""Seeded randomness that leaves the caller's random stream as it was; the order of an epoch; the
generators' state in a checkpoint."""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device):
    """Inside: the global generators (CPU, and `device` if it is a GPU) start from `seed` (or, with None,
    from wherever they are, to be set inside); after: they continue exactly where they were, so an
    evaluation or a picture does not perturb training, and training does not perturb its caller."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def epoch_order(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The order of the datapoints in `epoch`: a function of (seed, epoch) alone, so a resumed run
    draws the same minibatches as an uninterrupted one."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch))


def rng_state_tensors() -> dict[str, torch.Tensor]:
    """The global generators' states, for a checkpoint (`restore_rng_state` puts them back)."""
    states = {"rng.cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        states.update({f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return states


def restore_rng_state(tensors: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(tensors["rng.cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng.cuda.")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
