"""Perturbation conditions through the real latent cache: own group per condition, rerun free, same bytes."""

from __future__ import annotations

import numpy as np
import pytest
from jfd_testing import compose_cfg, tiny_overrides

from jpegai_fd.cache.store import LatentStore
from jpegai_fd.cache.extraction import Latents
from jpegai_fd.cache.settings import ExtractSettings
from jfd_testing import load_splits
from jpegai_fd.datasets import ImageReader, hash_memo, manifest_hash
from jpegai_fd.encoders import DCTEncoder
from jpegai_fd.errors import UserError
from jpegai_fd.perturb import CenterCrop, GaussianBlur, GaussianNoise, PerturbedReader


@pytest.fixture()
def cfg(tmp_path):
    return compose_cfg(tiny_overrides(tmp_path, train=4, test=4))


def extract(cfg, split, reader, store_path=None):
    """Open the group this reader's settings key and fill it; (group key, group, stats)."""
    latents = Latents(store_path or cfg.paths.cache, DCTEncoder(), ExtractSettings(chunk_size=cfg.extract.chunk_size))
    manifest = manifest_hash(split, hash_memo(cfg.paths.cache), reader.settings())
    store = LatentStore(latents.cache)
    group = store.open(split, manifest, latents.encoder, cfg.bpp, reader, latents.extract)
    stats = latents.fill(group, split, cfg.bpp, reader)
    return store.group_key(split, manifest, latents.encoder, cfg.bpp), group, stats


def test_each_condition_has_its_own_group_and_a_rerun_extracts_nothing(cfg, tmp_path):
    _, test = load_splits(cfg)
    plain = ImageReader(int(cfg.dataset.image_size))
    noisy = PerturbedReader.for_split(plain, GaussianNoise(5.0, seed=1), test)
    keys = {}
    for name, reader in (
        ("clean", plain),
        ("noise", noisy),
        ("blur", PerturbedReader.for_split(plain, GaussianBlur(1.0), test)),
    ):
        keys[name], group, stats = extract(cfg, test, reader)
        assert (stats.extracted, stats.cached) == (len(test), 0)
    assert len(set(keys.values())) == 3
    key, group, stats = extract(cfg, test, PerturbedReader.for_split(plain, GaussianNoise(5.0, seed=1), test))
    assert key == keys["noise"] and (stats.extracted, stats.cached) == (0, len(test))
    # The cached latents are those of the perturbed pixels, seeded by image id.
    pixels = np.stack([GaussianNoise(5.0, seed=1)(plain.read(p), i) for p, i in zip(test.paths, test.ids)])
    expected = DCTEncoder().encode(pixels, cfg.bpp)["y"]["model_y"]
    np.testing.assert_array_equal(group.array("y", "model_y")[:], expected)
    # A fresh store (another machine, another run) gets the same bytes.
    _, again, _ = extract(cfg, test, noisy, tmp_path / "other.zarr")
    np.testing.assert_array_equal(again.array("y_hat", "model_uv")[:], group.array("y_hat", "model_uv")[:])
    # Another seed is another condition.
    other, _, _ = extract(cfg, test, PerturbedReader.for_split(plain, GaussianNoise(5.0, seed=2), test))
    assert other not in keys.values()


def test_a_size_changing_perturbation_is_refused_before_any_work(cfg):
    _, test = load_splits(cfg)
    with pytest.raises(UserError, match="crop_f0.75_keep.*resize_back=true"):
        PerturbedReader.for_split(ImageReader(64), CenterCrop(0.75, resize_back=False), test)
