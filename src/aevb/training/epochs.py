"""Where a run stands in its passes over the data, and the minibatches from there to its budget.

The order of each epoch is a function of (seed, epoch) alone (`randomness.epoch_order`), so a run
resumed from a checkpoint draws the same minibatches as one that was never interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from ..randomness import epoch_order


@dataclass
class Position:
    """Datapoints seen, epochs completed, and minibatches done of the current epoch."""

    samples_seen: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0


def minibatches(position, seed: int, n: int, batch_size: int, budget: int) -> Iterator[torch.Tensor]:
    """The row indices [M] of each minibatch from `position` (a Position or anything with its three
    fields) until `budget` datapoints have been seen. `position` is advanced past a minibatch before it
    is handed out, so a checkpoint written while it is used records it as done."""
    while position.samples_seen < budget:
        batches = epoch_order(seed, position.epoch, n).split(batch_size)
        for indices in batches[position.batch_in_epoch:]:
            position.samples_seen += len(indices)
            position.batch_in_epoch += 1
            if position.batch_in_epoch == len(batches):
                position.epoch, position.batch_in_epoch = position.epoch + 1, 0
            yield indices
            if position.samples_seen >= budget:
                return
