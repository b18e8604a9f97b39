"""What every latent encoder provides, so that the cache, features and classifiers never care which."""

from typing import Protocol

import numpy as np

COMPONENTS = ("model_y", "model_uv")  # names of the JPEG AI branches: luma, chroma
LATENTS = ("y", "y_hat")  # unquantised analysis output, decoder-side quantised latent

Latents = dict[str, dict[str, np.ndarray]]  # latent -> component -> (N, C, H, W) float32


class LatentEncoder(Protocol):
    """RGB images -> JPEG AI-shaped latents at a rate; the constructor only checks ``conf/encoder/<name>.yaml``'s
    keys. Optional: ``check_rate(bpp)``, ``prepare()`` (once), ``extra_shapes(height, width)``."""

    name: str

    def fingerprint(self) -> dict:
        """Every setting that changes the latents (JSON-serialisable); the cache keys on it."""

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        """(C, h, w) of each component for an image of height x width."""

    def encode(self, images: np.ndarray, bpp: int) -> Latents:
        """(N, H, W, 3) uint8 RGB at ``bpp`` (rate x 100) -> ``{"y": {"model_y": a, "model_uv": b}, "y_hat": ...}``."""
