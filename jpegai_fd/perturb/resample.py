"""Pillow resampling shared by the scale and crop perturbations."""

from __future__ import annotations

import numpy as np
from PIL import Image

FILTERS = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "lanczos": Image.Resampling.LANCZOS,
    "nearest": Image.Resampling.NEAREST,
}


def resize(image: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    """``image`` (uint8 RGB) resized to height x width with Pillow's ``method`` filter (which
    widens its support when shrinking, i.e. it anti-aliases)."""
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), FILTERS[method]))
