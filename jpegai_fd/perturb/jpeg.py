"""JPEG re-compression at a quality: what a re-save by a viewer, a website or a messenger does."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, features

from jpegai_fd.perturb.base import Perturbation, in_range


def jpeg_bytes(image: np.ndarray, quality: int, subsampling: int = 2) -> bytes:
    """The JPEG file Pillow writes for ``image`` (uint8 RGB) at ``quality`` (1-95).

    ``subsampling``: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0 (Pillow's default for RGB, made explicit so a
    change of Pillow's default never changes the bytes silently)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality), subsampling=subsampling, optimize=False)
    return buffer.getvalue()


@dataclass(frozen=True)
class JPEGRecompress(Perturbation):
    """Encode as JPEG at ``quality`` (1-95, Pillow/libjpeg scale), decode back to RGB."""

    quality: int = 75
    subsampling: int = 2
    name = "jpeg"

    def __post_init__(self):
        self._normalise("quality", in_range(self.quality, "quality", "jpeg", 1, 95, integer=True))
        self._normalise("subsampling", in_range(self.subsampling, "subsampling", "jpeg", 0, 2, integer=True))

    def key_params(self):
        return [("q", self.quality)] + ([("s", self.subsampling)] if self.subsampling != 2 else [])

    def describe(self) -> dict:
        # The output bytes are libjpeg's: another libjpeg(-turbo) build may round differently.
        return {**super().describe(), "libjpeg": features.version("libjpeg_turbo") or features.version("jpg")}

    def apply(self, image, image_id):
        with Image.open(io.BytesIO(jpeg_bytes(image, self.quality, self.subsampling))) as decoded:
            return np.asarray(decoded.convert("RGB"))
