"""What every latent encoder provides, so that the cache, features and classifiers never care which."""

from __future__ import annotations

from typing import Protocol

import numpy as np

COMPONENTS = ("model_y", "model_uv")  # names of the JPEG AI branches: luma, chroma
LATENTS = ("y", "y_hat")  # unquantised analysis output, decoder-side quantised latent

Latents = dict[str, dict[str, np.ndarray]]  # latent -> component -> (N, C, H, W) float32


class LatentEncoder(Protocol):
    """Turns a batch of RGB images into JPEG AI-shaped latents at a target rate.

    Built from ``conf/encoder/<name>.yaml`` by ``instantiate``: the constructor takes the YAML keys
    (``name`` included) and must be cheap (value checks only), because the command line builds every
    job's encoder before any work to check the rules below. Optional methods the job calls when present:

    * ``check_rate(bpp)``: raise :class:`~jpegai_fd.errors.UserError` when ``bpp`` cannot be coded
      (a compatibility rule, checked for every job of a sweep before any work);
    * ``prepare()``: the expensive checks (installation, weights), once, before extraction;
    * ``extra_shapes(height, width)``: extra per-image arrays to cache (see the JPEG AI encoder).
    """

    name: str

    def fingerprint(self) -> dict:
        """Every setting that changes the latents (JSON-serialisable); the cache keys on it."""

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        """(C, h, w) of each component for an image of height x width."""

    def encode(self, images: np.ndarray, bpp: int) -> Latents:
        """Encode (N, H, W, 3) uint8 RGB images at ``bpp`` (rate x 100) into
        ``{"y": {"model_y": a, "model_uv": b}, "y_hat": {...}}``, arrays (N, C, h, w) float32."""
