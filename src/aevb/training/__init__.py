"""Training: the AEVB loop (Algorithm 1) with checkpoints and resume, its settings, the order of the
minibatches, seeded randomness, and data parallelism over processes."""

from .config import TrainConfig
from .loop import resume, train

__all__ = ["TrainConfig", "train", "resume"]
