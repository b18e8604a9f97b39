"""The offline default encoder: block-DCT latents laid out like JPEG AI's.

* ``model_y``: 16x16 block DCT-II (orthonormal) of BT.709 luma: 256 channels (channel = 16*u + v for
  vertical frequency u, horizontal v) on a ceil(H/16) x ceil(W/16) grid.
* ``model_uv``: 4:2:0 chroma (2x2 mean), 8x8 block DCT of U then V: 128 channels on the same grid.
* ``y``: the coefficients; ``y_hat``: uniformly quantised and dequantised with per-channel steps
  ``step * weight``, where ``weight`` grows with spatial frequency (coarser for high frequencies and
  for chroma, as JPEG's tables do) and ``step`` is searched per image so that the estimated coded size
  meets ``bpp / 100`` bits per pixel (see :mod:`jpegai_fd.encoders.rate`).

Images are edge-padded to a multiple of 16, as JPEG AI pads internally.
"""

from __future__ import annotations

import numpy as np

from jpegai_fd.encoders.base import Latents
from jpegai_fd.encoders.color import rgb_to_yuv709
from jpegai_fd.encoders.rate import search_steps
from jpegai_fd.errors import UserError

LUMA_BLOCK, CHROMA_BLOCK = 16, 8
CHROMA_WEIGHT = 1.5  # chroma detail matters less to the eye; JPEG's chroma table is coarser too


def dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix D (n x n): coefficients = D @ x."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    d = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    d[0] /= np.sqrt(2.0)
    return d


def block_dct(planes: np.ndarray, block: int) -> np.ndarray:
    """(N, H, W) planes with H, W multiples of ``block`` -> (N, block*block, H/block, W/block)."""
    n, h, w = planes.shape
    d = dct_matrix(block).astype(np.float32)
    tiles = planes.reshape(n, h // block, block, w // block, block)
    coefs = np.einsum("ua,niajb,vb->nuvij", d, tiles, d, optimize=True)
    return coefs.reshape(n, block * block, h // block, w // block)


def frequency_weights(block: int) -> np.ndarray:
    """(block*block,) step multipliers 1 + (u + v) / 2 for frequency indices u, v.

    Index u means u/32 cycles per full-resolution pixel for both 16x16 luma blocks and 8x8 blocks of
    half-resolution chroma, so one ramp serves both.
    """
    u, v = np.meshgrid(np.arange(block), np.arange(block), indexing="ij")
    return (1 + 0.5 * (u + v)).ravel().astype(np.float64)


class DCTEncoder:
    """Block-DCT latents with a rate-searched quantiser; implements ``LatentEncoder``."""

    version = 1  # bump when the latents of this class change: part of the fingerprint, hence the cache key

    def __init__(self, name: str = "dct", rate_search_iters: int = 24):
        if isinstance(rate_search_iters, bool) or not isinstance(rate_search_iters, int) or rate_search_iters < 1:
            raise UserError(f"invalid value for 'encoder.rate_search_iters': {rate_search_iters!r}; "
                            f"it must be an integer >= 1")
        self.name = name
        self.rate_search_iters = rate_search_iters
        self._weights = np.concatenate([
            frequency_weights(LUMA_BLOCK),
            CHROMA_WEIGHT * np.tile(frequency_weights(CHROMA_BLOCK), 2),
        ])

    def fingerprint(self) -> dict:
        return {"encoder": self.name, "version": self.version, "color": "bt709", "chroma": "420",
                "luma_block": LUMA_BLOCK, "chroma_block": CHROMA_BLOCK, "chroma_weight": CHROMA_WEIGHT,
                "rate_model": "per-channel-entropy", "rate_search_iters": self.rate_search_iters}

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        h, w = -(-height // LUMA_BLOCK), -(-width // LUMA_BLOCK)
        return {"model_y": (LUMA_BLOCK**2, h, w), "model_uv": (2 * CHROMA_BLOCK**2, h, w)}

    def transform(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Unquantised latents ``{"model_y": (N,256,h,w), "model_uv": (N,128,h,w)}`` float32."""
        n, height, width, _ = images.shape
        ph, pw = -height % LUMA_BLOCK, -width % LUMA_BLOCK
        if ph or pw:
            images = np.pad(images, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
        yuv = rgb_to_yuv709(images)
        luma = block_dct(yuv[..., 0], LUMA_BLOCK)
        chroma = yuv[..., 1:].reshape(n, yuv.shape[1] // 2, 2, yuv.shape[2] // 2, 2, 2).mean(axis=(2, 4))
        u = block_dct(np.ascontiguousarray(chroma[..., 0]), CHROMA_BLOCK)
        v = block_dct(np.ascontiguousarray(chroma[..., 1]), CHROMA_BLOCK)
        return {"model_y": luma, "model_uv": np.concatenate([u, v], axis=1)}

    def encode(self, images: np.ndarray, bpp: int) -> Latents:
        y = self.transform(images)
        n, height, width, _ = images.shape
        coefs = np.concatenate([y["model_y"], y["model_uv"]], axis=1).astype(np.float64)
        weighted = coefs.reshape(n, coefs.shape[1], -1) / self._weights[None, :, None]
        steps = search_steps(weighted, target_bits=bpp / 100 * height * width, iters=self.rate_search_iters)
        per_channel = steps[:, None, None, None] * self._weights[None, :, None, None]
        quantised = (np.rint(coefs / per_channel) * per_channel).astype(np.float32)
        c_y = y["model_y"].shape[1]
        return {"y": y, "y_hat": {"model_y": quantised[:, :c_y], "model_uv": quantised[:, c_y:]}}
