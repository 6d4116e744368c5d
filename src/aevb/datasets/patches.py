"""Colour patches cut from the two photographs scikit-learn ships (`load_sample_images`: china.jpg and
flower.jpg, 427×640 RGB each), offline: a small natural-image data set with 8-bit levels.

Each photograph is cut across at row 320: training patches come from the rows above, test patches from
the rows below 352, so no test patch overlaps a training one. Positions are drawn with a fixed seed.
"""

from __future__ import annotations

import numpy as np
import torch

from .dataset import Dataset

SIZE = 32                         # patches of SIZE × SIZE pixels, 3 channels
N_TRAIN, N_TEST = 10_000, 1_000   # half from each photograph
TRAIN_ROWS, TEST_FIRST_ROW = 320, 352


def _cut(photos, n: int, first_row: int, last_row: int, rng) -> np.ndarray:
    """n patches [n, 3, SIZE, SIZE] (intensities k/255) whose rows lie in [first_row, last_row)."""
    patches = []
    for i in range(n):
        photo = photos[i % len(photos)]                                            # [427, 640, 3] uint8
        top = rng.integers(first_row, last_row - SIZE + 1)
        left = rng.integers(0, photo.shape[1] - SIZE + 1)
        patches.append(photo[top:top + SIZE, left:left + SIZE].transpose(2, 0, 1))
    return np.stack(patches).astype(np.float32) / 255.0


def load_patches(**_) -> Dataset:
    """10 000 training and 1 000 test patches of 32×32×3, channels first, flattened to [N, 3072]."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    train = _cut(photos, N_TRAIN, 0, TRAIN_ROWS, rng)
    test = _cut(photos, N_TEST, TEST_FIRST_ROW, photos[0].shape[0], rng)
    return Dataset("patches", torch.from_numpy(train.reshape(N_TRAIN, -1)), None,
                   torch.from_numpy(test.reshape(N_TEST, -1)), (3, SIZE, SIZE), "discretized-logistic",
                   f"{SIZE}×{SIZE} colour patches of scikit-learn's sample photographs (train above row {TRAIN_ROWS}, "
                   f"test below row {TEST_FIRST_ROW})")
