"""Preprocessing from the cache: flatten, single and multiple patches; the vote; grouped folds."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from jfd_testing import compose_cfg
from jpegai_fd.cache.store import LatentGroup
from jfd_testing import build_group, build_features as features
from jpegai_fd.scoring.vote import majority_vote
from jpegai_fd.tuning.study import grouped_folds


@pytest.fixture()
def group(tmp_path):
    """A real Zarr group with random latents: 10 images, chunks of 4."""
    rng = np.random.default_rng(0)
    g = zarr.open_group(str(tmp_path / "c.zarr"), mode="w")
    data = {}
    for latent in ("y", "y_hat"):
        for comp, c in (("model_y", 6), ("model_uv", 3)):
            arr = rng.normal(size=(10, c, 4, 5)).astype(np.float32)
            g.create_array(f"{latent}/{comp}", shape=arr.shape, chunks=(4, c, 4, 5), dtype="float32")[:] = arr
            data[latent, comp] = arr
    labels = np.array([0, 1] * 5, dtype=np.int8)
    g.create_array("labels", shape=(10,), chunks=(4,), dtype="int8")[:] = labels
    g.create_array("done", shape=(10,), chunks=(4,), dtype="bool")[:] = True
    return LatentGroup(g, 4), data, labels


def cfg_for(preprocess, component="yuv", latent="y", **extra):
    return compose_cfg(
        [
            f"preprocess={preprocess}",
            f"component={component}",
            f"latent={latent}",
            *[f"preprocess.{k}={v}" for k, v in extra.items()],
        ]
    )


def test_flatten_yuv_concatenates_components(group):
    g, data, labels = group
    fs = features(cfg_for("flatten", latent="y_hat"), g, train=True)
    expected = np.concatenate([data["y_hat", "model_y"].reshape(10, -1), data["y_hat", "model_uv"].reshape(10, -1)], 1)
    assert fs.X.dtype == np.float32 and fs.X.flags.c_contiguous
    np.testing.assert_array_equal(fs.X, expected)
    np.testing.assert_array_equal(fs.y, labels)
    np.testing.assert_array_equal(fs.groups, np.arange(10))


def test_flatten_y_uses_luma_only(group):
    g, data, _ = group
    fs = features(cfg_for("flatten", component="y"), g, train=False)
    np.testing.assert_array_equal(fs.X, data["y", "model_y"].reshape(10, -1))


def test_single_takes_all_channels_at_the_centre(group):
    g, data, _ = group
    fs = features(cfg_for("single"), g, train=True)
    expected = np.concatenate([data["y", "model_y"][:, :, 2, 2], data["y", "model_uv"][:, :, 2, 2]], axis=1)
    np.testing.assert_array_equal(fs.X, expected)
    fs = features(cfg_for("single", row=0, col=4), g, train=True)
    np.testing.assert_array_equal(fs.X[:, :6], data["y", "model_y"][:, :, 0, 4])


def test_multi_trains_on_n_fixed_positions_and_tests_on_all(group):
    g, data, labels = group
    cfg = cfg_for("multi", num_patches=3)
    positions = build_group(cfg, "preprocess").positions((4, 5), train=True)
    assert len(positions) == 3 and len(set(positions)) == 3
    fs = features(cfg, g, train=True)
    assert fs.X.shape == (30, 9)
    for i in range(10):
        for j, (r, c) in enumerate(positions):
            np.testing.assert_array_equal(fs.X[3 * i + j, :6], data["y", "model_y"][i, :, r, c])
    np.testing.assert_array_equal(fs.groups, np.repeat(np.arange(10), 3))
    np.testing.assert_array_equal(fs.y, np.repeat(labels, 3))
    test = features(cfg, g, train=False)
    assert test.X.shape == (10 * 20, 9) and test.n_images == 10


def test_majority_vote_and_tie_break():
    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.3, 0.6, 0.9, 0.2, 0.4, 0.55, 0.6, 0.45, 0.4, 0.52])
    groups = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
    labels, mean = majority_vote(scores, groups, 4)
    # image 2: 2 votes each, mean 0.5125 > 0.5 -> real; image 3: 2-2, mean 0.4925 -> fake
    np.testing.assert_array_equal(labels, [1, 0, 1, 0])
    np.testing.assert_allclose(mean, [0.6, 1.1 / 3, 2.05 / 4, 1.97 / 4])


def test_grouped_folds_never_split_an_image():
    groups = np.repeat(np.arange(30), 7)
    y = np.repeat(np.arange(30) % 2, 7)
    folds = grouped_folds(y, groups, 3, seed=1)
    assert len(folds) == 3
    seen = []
    for fit_idx, val_idx in folds:
        assert not set(groups[fit_idx]) & set(groups[val_idx])
        assert set(y[val_idx]) == {0, 1}
        seen.extend(val_idx)
    assert sorted(seen) == list(range(len(y)))


@pytest.mark.parametrize("codec", ["none", "lz4", "zstd"])
def test_flatten_reads_every_codec_identically(tmp_path, codec):
    from jpegai_fd.cache.store import CODECS
    from jpegai_fd.features.matrix import flatten_matrix
    from jpegai_fd.features.raw_read import _raw_chunk_dir

    rng = np.random.default_rng(1)
    g = zarr.open_group(str(tmp_path / "c.zarr"), mode="w")
    arrays, data = [], []
    for name, c in (("a", 5), ("b", 3)):
        values = rng.normal(size=(11, c, 2, 3)).astype(np.float32)
        arr = g.create_array(
            name, shape=values.shape, chunks=(4, c, 2, 3), dtype="float32", compressors=CODECS[codec]()
        )
        arr[:] = values
        arrays.append(arr)
        data.append(values.reshape(11, -1))
    assert (_raw_chunk_dir(arrays[0]) is not None) == (codec == "none")  # the fast path is taken for raw
    fs = flatten_matrix(arrays, np.zeros(11, dtype=np.int8))
    np.testing.assert_array_equal(fs.X, np.concatenate(data, axis=1))


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_flatten_with_row_gaps_reads_only_those_rows(tmp_path, codec):
    from jpegai_fd.cache.store import CODECS
    from jpegai_fd.features.matrix import flatten_matrix

    values = np.random.default_rng(2).normal(size=(13, 2, 2, 2)).astype(np.float32)
    g = zarr.open_group(str(tmp_path / "c.zarr"), mode="w")
    arr = g.create_array("a", shape=values.shape, chunks=(4, 2, 2, 2), dtype="float32", compressors=CODECS[codec]())
    arr[:] = values
    rows = np.array([0, 1, 3, 4, 5, 6, 7, 8, 12])  # runs crossing chunk borders, a gap, the partial last chunk
    fs = flatten_matrix([arr], np.arange(13, dtype=np.int8), rows)
    np.testing.assert_array_equal(fs.X, values[rows].reshape(len(rows), -1))
    np.testing.assert_array_equal(fs.y, rows)
