"""The offline default encoder: block-DCT latents laid out like JPEG AI's (edge-padded to a multiple of 16; layout and
rate search: docs/concepts/offline-defaults.md); luma channel 16*u + v, ``y_hat`` quantised with ``step * weight``."""

import numpy as np

from jpegai_fd.encoders.base import Latents
from jpegai_fd.encoders.color import rgb_to_yuv709
from jpegai_fd.encoders.rate import search_steps
from jpegai_fd.errors import check_int

LUMA_BLOCK, CHROMA_BLOCK = 16, 8
CHROMA_WEIGHT = 1.5  # chroma detail matters less to the eye; JPEG's chroma table is coarser too


def dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix D (n x n): coefficients = D @ x."""
    k, i = np.arange(n)[:, None], np.arange(n)[None, :]
    d = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    d[0] /= np.sqrt(2.0)
    return d


def block_dct(planes: np.ndarray, block: int) -> np.ndarray:
    """(N, H, W) planes -> (N, block*block, H/block, W/block), multiply-adds in a fixed order, never BLAS: a matrix
    product's reduction order depends on the BLAS build and threads, which made cache bytes depend on the launcher."""
    n, h, w = planes.shape
    d = dct_matrix(block).astype(np.float32)
    tiles = np.asarray(planes, dtype=np.float32).reshape(n, h // block, block, w // block, block)
    rows = _fixed_order_sum(tiles, d, axis=4)  # (n, i, a, j, v): horizontal frequencies v
    coefs = _fixed_order_sum(rows, d, axis=2)  # (n, i, u, j, v): vertical frequencies u
    return np.ascontiguousarray(coefs.transpose(0, 2, 4, 1, 3)).reshape(n, block * block, h // block, w // block)


def _fixed_order_sum(x: np.ndarray, d: np.ndarray, axis: int) -> np.ndarray:
    """``out[..., k, ...] = sum_m d[k, m] * x[..., m, ...]`` along ``axis``, summed for m = 0, 1, ... in order."""
    shape = [1] * x.ndim
    shape[axis] = d.shape[0]
    out, term = np.empty_like(x), np.empty_like(x)
    for m in range(d.shape[1]):
        source = x[(slice(None),) * axis + (slice(m, m + 1),)]  # (..., 1, ...) broadcast against the column
        np.multiply(source, d[:, m].reshape(shape), out=term if m else out)
        if m:
            np.add(out, term, out=out)
    return out


def frequency_weights(block: int) -> np.ndarray:
    """(block*block,) step multipliers 1 + (u + v) / 2 for frequency indices u, v."""
    u, v = np.meshgrid(np.arange(block), np.arange(block), indexing="ij")
    return (1 + 0.5 * (u + v)).ravel().astype(np.float64)


class DCTEncoder:
    # Bump when the latents of this class change: part of the fingerprint, hence the cache key.
    version = 2  # 2: BLAS-free fixed-order DCT and an exactly representable rate-search grid (bytes no longer depend on threads)

    def __init__(self, name: str = "dct", rate_search_iters: int = 24):
        check_int("encoder.rate_search_iters", rate_search_iters, 1)
        self.name = name
        self.rate_search_iters = rate_search_iters
        self._weights = np.concatenate(
            [frequency_weights(LUMA_BLOCK), CHROMA_WEIGHT * np.tile(frequency_weights(CHROMA_BLOCK), 2)]
        )

    def fingerprint(self) -> dict:
        layout = dict(color="bt709", chroma="420", luma_block=LUMA_BLOCK, chroma_block=CHROMA_BLOCK)
        rate = dict(chroma_weight=CHROMA_WEIGHT, rate_model="per-channel-entropy")
        return dict(encoder=self.name, version=self.version, **layout, **rate, rate_search_iters=self.rate_search_iters)

    def latent_shapes(self, height: int, width: int) -> dict[str, tuple[int, int, int]]:
        h, w = -(-height // LUMA_BLOCK), -(-width // LUMA_BLOCK)
        return {"model_y": (LUMA_BLOCK**2, h, w), "model_uv": (2 * CHROMA_BLOCK**2, h, w)}

    def transform(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Unquantised latents ``{"model_y": (N,256,h,w), "model_uv": (N,128,h,w)}`` float32."""
        _, height, width, _ = images.shape
        pad = ((0, 0), (0, -height % LUMA_BLOCK), (0, -width % LUMA_BLOCK), (0, 0))
        yuv = rgb_to_yuv709(np.pad(images, pad, "edge"))
        luma = block_dct(yuv[..., 0], LUMA_BLOCK)
        # 2x2 means summed in a fixed order (``mean`` pairs terms by SIMD path).
        chroma = yuv[:, 0::2, 0::2, 1:] + yuv[:, 0::2, 1::2, 1:]
        chroma += yuv[:, 1::2, 0::2, 1:]
        chroma += yuv[:, 1::2, 1::2, 1:]
        chroma /= np.float32(4)
        uv = [block_dct(np.ascontiguousarray(chroma[..., k]), CHROMA_BLOCK) for k in (0, 1)]
        return {"model_y": luma, "model_uv": np.concatenate(uv, axis=1)}

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
