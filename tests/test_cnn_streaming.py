"""classifier.stream_from_cache: the cnn reads its batches from real Zarr arrays instead of a matrix,
each chunk once per epoch, deterministically, and the real job runs that way."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from mlflow.tracking import MlflowClient

from jfd_testing import compose_cfg, tiny_overrides
from jpegai_fd.classifiers.cnn import CNNClassifier
from jpegai_fd.features.latent_source import CachedLatentTensors
from jfd_testing import train as run_job
from test_classifier_cnn import CNN_SMALL, latent_problem


def cached_arrays(tmp_path, V: np.ndarray, chunk: int, compressed: bool) -> list[zarr.Array]:
    """V (n, 6, 4, 4) written as a model_y (4 channels) and a model_uv (2 channels) Zarr array."""
    out = []
    for name, part in (("model_y", V[:, :4]), ("model_uv", V[:, 4:])):
        array = zarr.create_array(
            str(tmp_path / f"{name}.zarr"),
            shape=part.shape,
            chunks=(chunk, *part.shape[1:]),
            dtype="float32",
            compressors=zarr.codecs.ZstdCodec(level=1) if compressed else None,
        )
        array[:] = part
        out.append(array)
    return out


class CountingTensors(CachedLatentTensors):
    """Counts the cache chunks decoded (a chunk read from the store, not from the kept ones)."""

    loads = 0

    def _chunk(self, k):
        CountingTensors.loads += k not in self._chunks
        return super()._chunk(k)


@pytest.mark.parametrize("compressed", [False, True])  # the raw-read fast path, and Zarr's decoding
def test_reads_the_images_at_its_rows_in_any_order(tmp_path, compressed):
    V = latent_problem(n=40)[0].reshape(40, 6, 4, 4)
    rows = np.array([0, 1, 2, 5, 9, 10, 11, 17, 30, 39])  # with gaps, as when some images failed
    source = CachedLatentTensors(cached_arrays(tmp_path, V, 4, compressed), rows, keep_chunks=2)
    assert source.shape == (10, 6 * 16) and source.tensor_shape == (6, 4, 4)
    idx = np.array([9, 0, 4, 4, 7, 2])
    np.testing.assert_array_equal(source.read(idx), V[rows[idx]])
    np.testing.assert_array_equal(source.subset([3, 8]).read([1, 0]), V[rows[[8, 3]]])
    assert len(source._chunks) <= 2


def test_an_epoch_in_its_order_decodes_each_chunk_once(tmp_path):
    V = latent_problem(n=64)[0].reshape(64, 6, 4, 4)
    source = CountingTensors(cached_arrays(tmp_path, V, 4, False), np.arange(64), keep_chunks=3)
    order = source.epoch_order(np.arange(64), np.random.default_rng(0))
    assert sorted(order) == list(range(64)) and not np.array_equal(order, np.arange(64))
    CountingTensors.loads = 0
    for i in range(0, 64, 8):
        source.read(np.sort(order[i : i + 8]))
    assert CountingTensors.loads == 16  # 64 images in chunks of 4, each decoded once
    again = source.epoch_order(np.arange(64), np.random.default_rng(0))
    np.testing.assert_array_equal(order, again)  # the seed fixes the order


@pytest.mark.slow
def test_cnn_trained_from_the_cache_learns_and_is_deterministic(tmp_path):
    V, y = latent_problem(n=600)
    source = CachedLatentTensors(cached_arrays(tmp_path, V.reshape(600, 6, 4, 4), 16, False), np.arange(600))
    params = dict(grid=(4, 4), width=16, depth=1, epochs=30, patience=3, lr=3e-3, n_jobs=1, random_state=0)
    train, test = np.arange(500), source.subset(np.arange(500, 600))
    a = CNNClassifier(**params).fit(source, y, rows=train)
    assert (a.predict(test) == y[500:]).mean() > 0.8
    b = CNNClassifier(**params).fit(source, y, rows=train)
    np.testing.assert_array_equal(a.predict_proba(test), b.predict_proba(test))


@pytest.mark.slow
@pytest.mark.parametrize("stream", [True, False])
def test_the_job_streams_from_the_cache_or_uses_the_matrix(tmp_path, stream):
    base = [o for o in tiny_overrides(tmp_path, train=12, test=6) if not o.startswith("classifier.")]
    metrics = run_job(compose_cfg([*base, *CNN_SMALL, f"classifier.stream_from_cache={stream}"]))
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id])
    assert run.data.params["classifier.stream_from_cache"] == str(stream)
    assert run.data.metrics["test/accuracy"] == metrics["test/accuracy"]
    assert run.data.metrics["data/num_features"] == (256 + 128) * 4 * 4  # the matrix it stood in for
    assert len(client.get_metric_history(run.info.run_id, "cnn/val_loss")) >= 1
