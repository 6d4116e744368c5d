"""Pictures of images: a grid of samples from p(x|z), written as PNG."""

from __future__ import annotations

import io
import math

import numpy as np
import torch

from .files import write_bytes_atomic


def image_grid(images: np.ndarray, columns: int | None = None, padding: int = 1) -> np.ndarray:
    """[n, H, W] intensities → one [rows·(H+p)+p, columns·(W+p)+p] picture with white lines between."""
    n, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.ones((rows * (height + padding) + padding, columns * (width + padding) + padding), dtype=np.float32)
    for i, image in enumerate(images):
        top, left = padding + (i // columns) * (height + padding), padding + (i % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def save_image_grid(images: np.ndarray, path, scale: int = 2) -> None:
    """Write [n, H, W] images with values in [0, 1] as a grey PNG grid, each pixel `scale`×`scale`."""
    from matplotlib.image import imsave

    grid = np.kron(image_grid(np.clip(images, 0, 1)), np.ones((scale, scale), dtype=np.float32))
    buffer = io.BytesIO()
    imsave(buffer, grid, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    write_bytes_atomic(path, buffer.getvalue())


def save_samples(model, path, image_shape, n: int = 100, seed: int = 0) -> None:
    """The means of p(x|z) for n draws z ~ p(z), as a PNG grid of images of `image_shape`."""
    device = next(model.parameters()).device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        images = model.sample(n).cpu().numpy().reshape(n, *image_shape)
    save_image_grid(images, path)
