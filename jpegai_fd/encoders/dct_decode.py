"""RGB pixels back from DCT latents (the inverse of :mod:`.dct`). Chroma is upsampled by the "triangle" filter
(3/4 nearest + 1/4 next, edges clamped): the encoder's 2x2 mean sits between four luma samples."""

import numpy as np

from jpegai_fd.encoders.color import KB, KG, KR
from jpegai_fd.encoders.dct import CHROMA_BLOCK, LUMA_BLOCK, dct_matrix


def inverse_block_dct(coefs: np.ndarray, block: int) -> np.ndarray:
    """(N, block*block, h, w) coefficients -> (N, h*block, w*block) planes (inverse of ``block_dct``)."""
    n, _, h, w = coefs.shape
    d = dct_matrix(block)
    grid = coefs.astype(np.float64).reshape(n, block, block, h, w)  # (n, u, v, i, j)
    # The DCT matrix is orthonormal, so its inverse is its transpose: x = D^T C D per block.
    tiles = np.einsum("ua,nuvij,vb->niajb", d, grid, d, optimize=True)
    return tiles.reshape(n, h * block, w * block)


def _triangle_up(planes: np.ndarray, axis: int) -> np.ndarray:
    """Double ``axis``: out[2i] = 3/4 x[i] + 1/4 x[i-1], out[2i+1] = 3/4 x[i] + 1/4 x[i+1]."""
    x = np.moveaxis(planes, axis, -1)
    prev = np.concatenate([x[..., :1], x[..., :-1]], axis=-1)
    nxt = np.concatenate([x[..., 1:], x[..., -1:]], axis=-1)
    out = np.empty(x.shape[:-1] + (2 * x.shape[-1],), dtype=x.dtype)
    out[..., 0::2] = 0.75 * x + 0.25 * prev
    out[..., 1::2] = 0.75 * x + 0.25 * nxt
    return np.moveaxis(out, -1, axis)


def upsample_chroma(chroma: np.ndarray) -> np.ndarray:
    """(N, h, w) half-resolution planes -> (N, 2h, 2w) by the separable triangle filter."""
    return _triangle_up(_triangle_up(chroma, 1), 2)


def yuv709_to_rgb(yuv: np.ndarray) -> np.ndarray:
    """(..., 3) float YUV (Y in [0, 1], U, V in [-0.5, 0.5]) -> (..., 3) float RGB in [0, 1] units."""
    y, u, v = yuv[..., 0], yuv[..., 1], yuv[..., 2]
    b = y + 2 * (1 - KB) * u
    r = y + 2 * (1 - KR) * v
    g = (y - KR * r - KB * b) / KG
    return np.stack([r, g, b], axis=-1)


def decode_dct(latents: dict[str, np.ndarray], height: int, width: int) -> np.ndarray:
    """``y`` or ``y_hat`` of the DCT encoder -> (N, height, width, 3) uint8 RGB (the size before padding)."""
    luma = inverse_block_dct(latents["model_y"], LUMA_BLOCK)
    u, v = (upsample_chroma(inverse_block_dct(c, CHROMA_BLOCK)) for c in np.split(latents["model_uv"], 2, axis=1))
    if luma.shape[1] < height or luma.shape[2] < width:
        raise ValueError(f"latents cover {luma.shape[1]}x{luma.shape[2]} pixels, less than {height}x{width}")
    rgb = yuv709_to_rgb(np.stack([luma, u, v], axis=-1))[:, :height, :width]
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
