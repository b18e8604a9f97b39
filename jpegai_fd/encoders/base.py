"""What every latent encoder provides, so that the cache, features and classifiers never care which."""

from typing import Protocol

import numpy as np

COMPONENTS = ("model_y", "model_uv")  # names of the JPEG AI branches: luma, chroma
LATENTS = ("y", "y_hat")  # unquantised analysis output, decoder-side quantised latent

Latents = dict[str, dict[str, np.ndarray]]  # latent -> component -> (N, C, H, W) float32


class LatentEncoder(Protocol):
    """Turns a batch of RGB images into JPEG AI-shaped latents at a target rate. The constructor takes
    ``conf/encoder/<name>.yaml``'s keys and only checks values (a sweep builds every job first). Optional:
    ``check_rate(bpp)`` (UserError before any work), ``prepare()`` (installation and weights, once),
    ``extra_shapes(height, width)`` (extra per-image arrays to cache)."""

    name: str

    def fingerprint(self) -> dict:
        """Every setting that changes the latents (JSON-serialisable); the cache keys on it."""

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        """(C, h, w) of each component for an image of height x width."""

    def encode(self, images: np.ndarray, bpp: int) -> Latents:
        """(N, H, W, 3) uint8 RGB at ``bpp`` (rate x 100) -> ``{"y": {"model_y": a, "model_uv": b}, "y_hat": ...}``."""
