"""The pixel perturbations: JPEG re-save, rescale, blur, noise, centre crop."""

import hashlib
import io
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image, features
from pydantic import StrictBool
from scipy import ndimage

from jpegai_fd.perturb.base import Perturbation, ranged, to_uint8

FILTERS = {name: Image.Resampling[name.upper()] for name in ("bicubic", "bilinear", "lanczos", "nearest")}
Filter = Literal[*FILTERS]


def resize(image: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    """``image`` (uint8 RGB) resized with Pillow's ``method`` filter (anti-aliased when shrinking)."""
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), FILTERS[method]))


def jpeg_bytes(image: np.ndarray, quality: int, subsampling: int = 2) -> bytes:
    """Pillow's JPEG of ``image`` at ``quality``; ``subsampling`` 2 (4:2:0) explicit: a new default changes no bytes."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality), subsampling=subsampling, optimize=False)
    return buffer.getvalue()


@dataclass(frozen=True)
class JPEGRecompress(Perturbation):
    """Encode as JPEG at ``quality`` (1-95, Pillow/libjpeg scale), decode back to RGB."""

    quality: ranged(1, 95, int) = 75
    subsampling: ranged(0, 2, int) = 2
    name = "jpeg"

    def key_params(self):
        return [("q", self.quality)] + ([("s", self.subsampling)] if self.subsampling != 2 else [])

    def describe(self) -> dict:
        # The output bytes are libjpeg's: another libjpeg(-turbo) build may round differently.
        return {**super().describe(), "libjpeg": features.version("libjpeg_turbo") or features.version("jpg")}

    def apply(self, image, image_id):
        with Image.open(io.BytesIO(jpeg_bytes(image, self.quality, self.subsampling))) as decoded:
            return np.asarray(decoded.convert("RGB"))


@dataclass(frozen=True)
class Rescale(Perturbation):
    """Resize H x W to round(factor*H) x round(factor*W) (at least 1 pixel), then back, both with ``method``."""

    factor: ranged(0.05, 8.0) = 0.5
    method: Filter = "bicubic"
    name = "scale"
    key_fields = {"f": "factor"}

    def apply(self, image, image_id):
        h, w = image.shape[:2]
        small = resize(image, max(1, round(self.factor * h)), max(1, round(self.factor * w)), self.method)
        return resize(small, h, w, self.method)


@dataclass(frozen=True)
class GaussianBlur(Perturbation):
    """Gaussian filter of ``sigma`` pixels per channel (edges mirrored, cut at 4 sigma), rounded to 8 bits."""

    sigma: ranged(0.01, 64.0) = 1.0
    name = "blur"
    key_fields = {"s": "sigma"}

    def apply(self, image, image_id):
        # float64 throughout: the filter's result must not depend on a float32 accumulation order.
        sigma = (self.sigma, self.sigma, 0)
        return to_uint8(ndimage.gaussian_filter(image.astype(np.float64), sigma, mode="mirror", truncate=4.0))


@dataclass(frozen=True)
class GaussianNoise(Perturbation):
    """Add i.i.d. N(0, sigma^2) noise (sigma on the 0-255 scale) to every sample, round, clip."""

    sigma: ranged(0.01, 255.0) = 5.0
    seed: ranged(0, 2**63 - 1, int) = 0
    name = "noise"
    key_fields = {"s": "sigma"}  # the seed is in describe(): it keys the cache, not the metric name

    def apply(self, image, image_id):
        # Drawn from (seed, image id) only: not from the batch, order, shard or machine.
        digest = hashlib.blake2b(f"{int(self.seed)}\0{image_id}".encode(), digest_size=16).digest()
        noise = np.random.default_rng(np.frombuffer(digest, dtype=np.uint32).tolist()).standard_normal(image.shape)
        return to_uint8(image.astype(np.float64) + self.sigma * noise)


@dataclass(frozen=True)
class CenterCrop(Perturbation):
    """The central round(fraction*H) x round(fraction*W) pixels, resized back with ``method`` when ``resize_back``."""

    fraction: ranged(0.05, 1.0) = 0.9
    resize_back: StrictBool = True
    method: Filter = "bicubic"
    name = "crop"
    key_fields = {"f": "fraction"}

    def key(self) -> str:
        return super().key() + ("" if self.resize_back else "_keep")

    def output_shape(self, height, width):
        if self.resize_back:
            return height, width
        return max(1, round(self.fraction * height)), max(1, round(self.fraction * width))

    def apply(self, image, image_id):
        h, w = image.shape[:2]
        ch, cw = max(1, round(self.fraction * h)), max(1, round(self.fraction * w))
        top, left = (h - ch) // 2, (w - cw) // 2
        crop = image[top : top + ch, left : left + cw]
        return resize(crop, h, w, self.method) if self.resize_back else crop
