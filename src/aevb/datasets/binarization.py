"""Binarisation of intensities in [0, 1] into {0, 1} pixels (docs/protocols.md §1).

A mode decides what the training set becomes once (`prepare`) and what each minibatch becomes
each time it is used (`per_batch`). Evaluation sets are always binarised once with a fixed seed
(`fixed`), whatever the mode, so that reported numbers do not move from one evaluation to the next.

Dynamic binarisation of 8-bit intensities k/256 (the classic mnist.pkl.gz) keeps the levels k as bytes and
draws 1[b < k] for uniform random bytes b, eight from each 64-bit draw of the generator: P(b < k) = k/256
exactly, five times faster than a float draw per pixel (it sets the pace of the training step's data).
"""

from __future__ import annotations

import torch

from .dataset import MAPPED_BYTES


def bernoulli_draw(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """x_d ~ Bernoulli(intensity_d) as 1[u_d < intensity_d], u ~ U[0, 1): the same law as torch.bernoulli,
    four times faster on the CPU (it sets the pace of dynamic binarisation)."""
    uniform = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return (uniform < x).to(x.dtype)


def fixed_draw(x: torch.Tensor, seed: int) -> torch.Tensor:
    """One Bernoulli draw per pixel from a generator seeded with `seed`: the same bits every time. A missing
    pixel (NaN, to be filled) stays missing."""
    generator = torch.Generator(device=x.device).manual_seed(seed)
    missing = torch.isnan(x)
    if not bool(missing.any()):
        return bernoulli_draw(x, generator)
    return torch.where(missing, x, bernoulli_draw(torch.nan_to_num(x), generator))


class NoBinarization:
    def prepare(self, train: torch.Tensor, seed: int) -> torch.Tensor:
        return train

    def per_batch(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def fixed(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        return x


def eight_bit_levels(x: torch.Tensor) -> torch.Tensor | None:
    """k = 256·x as uint8 when x is float32 and every intensity is such a k/256 with k < 256, else None;
    also None for data larger than MAPPED_BYTES (a file's memory map, whose byte copy might not fit in
    memory: those rows are binarised from their float values, with the same law and other draws)."""
    if x.dtype != torch.float32 or x.nbytes > MAPPED_BYTES or float(x.min()) < 0 or float(x.max()) >= 1:
        return None
    levels = x * 256
    return levels.to(torch.uint8) if bool((levels == levels.round()).all()) else None


def bernoulli_bytes(levels: torch.Tensor) -> torch.Tensor:
    """x_d ~ Bernoulli(k_d/256) for uint8 levels k as float32 0/1: 1[b_d < k_d], b_d uniform random bytes."""
    count = levels.numel()
    words = torch.empty(-(-count // 8), dtype=torch.int64, device=levels.device).random_(-2 ** 63, None)
    random_bytes = words.view(torch.uint8)[:count].view(levels.shape)
    # Written straight as float32: a bool result converted afterwards costs three times as long here.
    return torch.lt(random_bytes, levels, out=torch.empty(levels.shape, dtype=torch.float32, device=levels.device))


class DynamicBinarization(NoBinarization):
    """A fresh draw x ~ Bernoulli(intensity) each time a datapoint is used (the IWAE protocol)."""

    def prepare(self, train: torch.Tensor, seed: int) -> torch.Tensor:
        """8-bit intensities as their levels (uint8), anything else as it is."""
        levels = eight_bit_levels(train)
        return train if levels is None else levels

    def per_batch(self, x: torch.Tensor) -> torch.Tensor:
        return bernoulli_bytes(x) if x.dtype == torch.uint8 else bernoulli_draw(x)

    def fixed(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        return fixed_draw(x, seed)


class StaticBinarization(DynamicBinarization):
    """One fixed draw of the training set, used for the whole run."""

    def prepare(self, train: torch.Tensor, seed: int) -> torch.Tensor:
        return fixed_draw(train, seed)

    def per_batch(self, x: torch.Tensor) -> torch.Tensor:
        return x


BINARIZATIONS = {"none": NoBinarization(), "dynamic": DynamicBinarization(), "static": StaticBinarization()}
