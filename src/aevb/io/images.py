"""Image files read as arrays of intensities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import InputError

LUMA = (0.299, 0.587, 0.114)   # ITU-R BT.601 weights of R, G, B in grey (as PIL's convert("L"))


def read_image(path: Path) -> np.ndarray:
    """A PNG or JPEG file as intensities in [0, 1] (8-bit levels /255): grey float32 [H, W], or colour
    float32 [3, H, W] (channels first; an alpha channel is dropped)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0                 # [H, W, 3]
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(f"{path} is not a readable image ({error})") from None
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        return rgb[..., 0]                                                                 # grey, whatever the mode
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def channels_first_shape(image_shape) -> tuple[int, int, int]:
    """(C, H, W) of a run's image shape: (H, W) is a grey image, (1, H, W)."""
    return (1, *image_shape) if len(image_shape) == 2 else tuple(image_shape)


def grey_rows(rows: torch.Tensor, image_shape) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Colour images [N, 3·H·W] (channels first) as grey ones [N, H·W] with their shape (H, W): the BT.601
    luma of each pixel, rounded to the nearest 8-bit level k/255 so discretised likelihoods still apply.
    Grey images ((H, W) or (1, H, W)) are returned as they are."""
    if len(image_shape) == 2 or image_shape[0] == 1:
        return rows, tuple(image_shape)
    _, height, width = image_shape
    rgb = rows.reshape(len(rows), 3, height * width)                                    # [N, 3, H·W]
    luma = torch.einsum("c,ncp->np", torch.tensor(LUMA, dtype=rows.dtype), rgb)          # [N, H·W]
    return torch.round(luma * 255) / 255, (height, width)
