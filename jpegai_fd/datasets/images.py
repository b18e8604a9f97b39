"""Decode image files into the RGB uint8 arrays that encoders take."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from jpegai_fd.errors import UserError


def read_rgb(path: Path) -> np.ndarray:
    """Decode ``path`` to an (H, W, 3) uint8 RGB array, EXIF orientation applied."""
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read image '{path}': {exc}; replace or remove it from the dataset") from exc


def read_batch(paths, size: int) -> np.ndarray:
    """Decode ``paths`` into one (N, size, size, 3) uint8 array; every image must be size x size."""
    batch = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        image = read_rgb(path)
        if image.shape[:2] != (size, size):
            raise UserError(f"image '{path}' is {image.shape[1]}x{image.shape[0]}, expected {size}x{size} "
                            f"(dataset.image_size); resize the dataset or set dataset.image_size")
        batch[i] = image
    return batch
