"""The block-DCT encoder: JPEG AI-shaped latents, and a quantiser that meets the target rate."""

from __future__ import annotations

import numpy as np
import pytest

from jpegai_fd.datasets.generators import make_image
from jpegai_fd.encoders.color import rgb_to_yuv709
from jpegai_fd.encoders.dct import DCTEncoder, block_dct, dct_matrix
from jpegai_fd.encoders.rate import estimated_bits


@pytest.fixture(scope="module")
def faces():
    return np.stack([make_image(i % 2, 3, i, 256)[0] for i in range(6)])


@pytest.fixture(scope="module")
def encoded(faces):
    encoder = DCTEncoder()
    return {bpp: encoder.encode(faces, bpp) for bpp in (6, 12)}


def test_shapes_match_the_jpegai_layout(encoded):
    for latents in encoded.values():
        for latent in ("y", "y_hat"):
            assert latents[latent]["model_y"].shape == (6, 256, 16, 16)
            assert latents[latent]["model_uv"].shape == (6, 128, 16, 16)
            assert latents[latent]["model_y"].dtype == np.float32


@pytest.mark.parametrize("h,w", [(64, 64), (301, 257), (48, 40), (256, 384)])
def test_grid_is_ceil_of_size_over_16(h, w):
    images = np.random.default_rng(0).integers(0, 256, (2, h, w, 3), dtype=np.uint8)
    encoder = DCTEncoder(rate_search_iters=8)
    out = encoder.encode(images, 12)
    grid = (-(-h // 16), -(-w // 16))
    assert out["y"]["model_y"].shape == (2, 256, *grid)
    assert out["y_hat"]["model_uv"].shape == (2, 128, *grid)
    assert encoder.latent_shapes(h, w) == {"model_y": (256, *grid), "model_uv": (128, *grid)}


def test_dct_is_orthonormal_and_block_local():
    d = dct_matrix(16)
    np.testing.assert_allclose(d @ d.T, np.eye(16), atol=1e-12)
    planes = np.random.default_rng(1).normal(size=(1, 32, 48)).astype(np.float32)
    coefs = block_dct(planes, 16)
    assert coefs.shape == (1, 256, 2, 3)
    np.testing.assert_allclose((coefs**2).sum(), (planes**2).sum(), rtol=1e-4)
    # The DC coefficient of a block is 16 x its mean (orthonormal 2-D DCT of a 16x16 block).
    np.testing.assert_allclose(coefs[0, 0, 1, 2], planes[0, 16:32, 32:48].mean() * 16, rtol=1e-4)


def test_bt709_of_grey_and_red():
    yuv = rgb_to_yuv709(np.array([[128, 128, 128], [255, 0, 0]], dtype=np.uint8))
    np.testing.assert_allclose(yuv[0], [128 / 255, 0, 0], atol=1e-6)
    np.testing.assert_allclose(yuv[1], [0.2126, -0.2126 / 1.8556, 0.5], atol=1e-4)


def test_y_does_not_depend_on_rate(encoded):
    for component in ("model_y", "model_uv"):
        np.testing.assert_array_equal(encoded[6]["y"][component], encoded[12]["y"][component])


def test_lower_rate_gives_coarser_y_hat(encoded):
    def error(bpp):
        lat = encoded[bpp]
        return np.abs(lat["y"]["model_y"] - lat["y_hat"]["model_y"]).mean(axis=(1, 2, 3))

    def nonzero(bpp):
        return (encoded[bpp]["y_hat"]["model_y"] != 0).sum(axis=(1, 2, 3))

    assert (error(6) > error(12)).all()
    assert (nonzero(6) < nonzero(12)).all()


@pytest.mark.parametrize("bpp", [6, 12, 50])
def test_estimated_rate_meets_target(faces, bpp):
    encoder = DCTEncoder()
    out = encoder.encode(faces, bpp)
    coefs = np.concatenate([out["y"]["model_y"], out["y"]["model_uv"]], axis=1).astype(np.float64)
    y_hat = np.concatenate([out["y_hat"]["model_y"], out["y_hat"]["model_uv"]], axis=1).astype(np.float64)
    # Recover each image's step from the DC channel (weight 1) of a non-zero coefficient.
    weights = encoder._weights
    target = bpp / 100 * 256 * 256
    for i in range(len(faces)):
        ratio = y_hat[i].reshape(len(weights), -1) / weights[:, None]
        step = np.min(np.abs(ratio[ratio != 0]))
        symbols = np.sort((coefs[i].reshape(len(weights), -1) / weights[:, None])[None], axis=-1)
        bits = estimated_bits(symbols, np.array([step]))[0]
        assert 0.85 * target <= bits <= target * 1.0001
