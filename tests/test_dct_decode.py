"""The DCT encoder's decoder: exact inverse of the transform, and quality that falls with the rate."""

from __future__ import annotations

import numpy as np
import pytest

from jpegai_fd.datasets.generators import make_image
from jpegai_fd.encoders.color import rgb_to_yuv709
from jpegai_fd.encoders.dct import DCTEncoder, block_dct
from jpegai_fd.encoders.dct_decode import decode_dct, inverse_block_dct, upsample_chroma, yuv709_to_rgb


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def camera_images():
    return np.stack([make_image(1, 3, i, 64)[0] for i in range(4)])  # the demo's real (camera) class


def test_inverse_block_dct_inverts_block_dct():
    planes = np.random.default_rng(0).uniform(0, 1, (2, 32, 48)).astype(np.float32)
    for block in (8, 16):
        assert np.allclose(inverse_block_dct(block_dct(planes, block), block), planes, atol=1e-5)


def test_yuv_to_rgb_inverts_rgb_to_yuv():
    rgb = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert np.allclose(yuv709_to_rgb(rgb_to_yuv709(rgb)) * 255, rgb, atol=1e-3)


def test_chroma_upsampling_keeps_constants_and_ramps():
    const = np.full((1, 4, 4), 0.3)
    assert np.allclose(upsample_chroma(const), 0.3)
    ramp = np.tile(np.arange(6.0), (1, 6, 1))  # samples at half-resolution centres 0.5, 2.5, ...
    up = upsample_chroma(ramp)[0, 0]
    assert np.allclose(up[1:-1], (np.arange(12.0)[1:-1] - 0.5) / 2)  # linear in between, clamped at edges


def test_gray_images_round_trip_exactly_from_y():
    gray = np.repeat(np.random.default_rng(2).integers(0, 256, (2, 48, 48, 1), dtype=np.uint8), 3, axis=3)
    assert np.array_equal(decode_dct(DCTEncoder().transform(gray), 48, 48), gray)  # no chroma: only rounding


def test_colour_round_trip_loses_only_chroma_subsampling(camera_images):
    back = decode_dct(DCTEncoder().transform(camera_images), 64, 64)
    assert back.shape == camera_images.shape and back.dtype == np.uint8
    assert psnr(back, camera_images) > 33
    luma = lambda x: rgb_to_yuv709(x)[..., 0] * 255  # noqa: E731
    assert psnr(luma(back), luma(camera_images)) > 55  # luma is coded at full resolution, exactly


def test_odd_sizes_crop_the_padding():
    odd = np.stack([make_image(1, 3, 9, 64)[0][:50, :45]])
    back = decode_dct(DCTEncoder().transform(odd), 50, 45)
    assert back.shape == (1, 50, 45, 3) and psnr(back, odd) > 30


def test_quality_falls_with_the_rate(camera_images):
    encoder = DCTEncoder()
    unquantised = psnr(decode_dct(encoder.transform(camera_images), 64, 64), camera_images)
    by_rate = {
        bpp: psnr(decode_dct(encoder.encode(camera_images, bpp)["y_hat"], 64, 64), camera_images)
        for bpp in (12, 25, 50, 100, 800)
    }
    assert by_rate[12] < by_rate[25] < by_rate[50] < by_rate[100] < by_rate[800]
    assert by_rate[800] > unquantised - 0.5  # at a high rate y_hat is almost y
    assert by_rate[12] < unquantised - 3  # at 0.12 bpp quantisation dominates
