"""RGB to YUV conversion with ITU-R BT.709 coefficients, as JPEG AI uses."""

import numpy as np

KR, KB = 0.2126, 0.0722
KG = 1 - KR - KB


def rgb_to_yuv709(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 or float RGB -> (..., 3) float32 YUV; Y in [0, 1], U and V in [-0.5, 0.5]."""
    scale = 255.0 if np.asarray(rgb).dtype == np.uint8 else 1.0
    rgb = np.asarray(rgb, dtype=np.float32) / scale
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = KR * r + KG * g + KB * b
    u = (b - y) / (2 * (1 - KB))
    v = (r - y) / (2 * (1 - KR))
    return np.stack([y, u, v], axis=-1).astype(np.float32)
