"""Image files read as arrays of intensities."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError


def read_grey_image(path: Path) -> np.ndarray:
    """A PNG or JPEG file as grey intensities in [0, 1] (8-bit levels /255): float32 [H, W]."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(f"{path} is not a readable image ({error})") from None
