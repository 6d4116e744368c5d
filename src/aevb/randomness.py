"""Seeded randomness that leaves the caller's random stream as it was."""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def seeded(seed: int, device: torch.device):
    """Inside: the global generators (CPU, and `device` if it is a GPU) start from `seed`; after: they
    continue exactly where they were, so an evaluation or a picture does not perturb training."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield
