"""The Zarr latent cache: extraction fills only what is missing, never reuses other settings, and an
extraction killed at any moment resumes to exactly the latents of an uninterrupted run."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from jfd_testing import compose_cfg, job_inputs, tiny_overrides
from jpegai_fd.extract import extract_latents
from jpegai_fd.cache.store import LatentStore
from jpegai_fd.cache.extraction import Latents
from jpegai_fd.cache.settings import ExtractSettings
from jfd_testing import cached_latents, load_splits
from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.datasets.manifest import manifest_hash
from jpegai_fd.encoders import DCTEncoder

ARRAYS = ("y/model_y", "y/model_uv", "y_hat/model_y", "y_hat/model_uv", "labels", "ids", "done")


@pytest.fixture()
def cfg(tmp_path):
    return compose_cfg(tiny_overrides(tmp_path, train=10, test=4))


def test_second_fill_extracts_nothing(cfg):
    train, _ = load_splits(cfg)
    group, first = cached_latents(cfg, train, DCTEncoder())
    assert (first.extracted, first.cached) == (20, 0)
    assert group.done_mask().all() and group.missing_chunks() == []
    again, second = cached_latents(cfg, train, DCTEncoder())
    assert (second.extracted, second.cached) == (0, 20)
    np.testing.assert_array_equal(again.ids, train.ids)
    np.testing.assert_array_equal(again.labels, train.labels)
    expected = DCTEncoder().encode(
        np.stack([ImageReader(cfg.dataset.image_size).read(p) for p in train.paths[:3]]), cfg.bpp
    )
    np.testing.assert_array_equal(again.array("y_hat", "model_uv")[:3], expected["y_hat"]["model_uv"])


def test_other_settings_never_reuse_latents(cfg, tmp_path):
    train, _ = load_splits(cfg)
    store = LatentStore(cfg.paths.cache)
    manifest = manifest_hash(train)
    keys = {
        store.group_key(train, manifest, DCTEncoder(), 12),
        store.group_key(train, manifest, DCTEncoder(), 6),
        store.group_key(train, manifest, DCTEncoder(rate_search_iters=8), 12),
        store.group_key(
            train.subset(np.arange(len(train) - 1)),
            manifest_hash(train.subset(np.arange(len(train) - 1))),
            DCTEncoder(),
            12,
        ),
    }
    assert len(keys) == 4
    # Changing one image's bytes changes the manifest, hence the group.
    path = Path(train.paths[0])
    path.write_bytes(path.read_bytes() + b"\0")
    assert manifest_hash(train) != manifest


def test_chunk_written_but_not_marked_done_is_recomputed(cfg):
    train, _ = load_splits(cfg)
    encoder = DCTEncoder()
    reader = ImageReader(cfg.dataset.image_size)
    latents = Latents(cfg.paths.cache, encoder, ExtractSettings(chunk_size=8))
    group = LatentStore(cfg.paths.cache).open(train, manifest_hash(train), encoder, cfg.bpp, reader, latents.extract)
    latents.fill(group, train, cfg.bpp, reader)
    reference = group.array("y_hat", "model_y")[:].copy()
    # Simulate a crash between the latent writes and the done mark of chunk 1, with garbage latents.
    group.group["done"][8:16] = False
    group.group["y_hat/model_y"][8:16] = -1.0
    assert group.missing_chunks() == [1]
    stats = latents.fill(group, train, cfg.bpp, reader)
    assert stats.extracted == 8
    np.testing.assert_array_equal(group.array("y_hat", "model_y")[:], reference)


def _done_count(cache: Path) -> tuple[int, int]:
    done = total = 0
    for path in cache.rglob("done/zarr.json"):
        arr = zarr.open_array(str(path.parent), mode="r")
        mask = arr[:]
        done += int(mask.sum())
        total += mask.size
    return done, total


def _overrides(tmp: Path, cache: str, data: Path) -> list[str]:
    return [
        *tiny_overrides(tmp, train=40, test=10, size=128),
        f"paths.data_dir={data}",
        f"paths.cache={cache}",
        "extract.chunk_size=4",
    ]


def _extract(tmp: Path, cache: str, data: Path) -> subprocess.Popen:
    run_dir = f"hydra.run.dir={tmp}/outputs/{Path(cache).name}-{time.time_ns()}"
    return subprocess.Popen(
        [sys.executable, "-m", "jpegai_fd.extract", *_overrides(tmp, cache, data), run_dir],
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _extract_here(tmp: Path, cache: str, data: Path) -> None:
    """The same extraction in-process (the uninterrupted reference and the resumed end)."""
    extract_latents(*job_inputs(compose_cfg(_overrides(tmp, cache, data))))


def _read_all(cache: Path) -> dict:
    out = {}
    for path in sorted(cache.rglob("done/zarr.json")):
        group = zarr.open_group(str(path.parent.parent), mode="r")
        for name in ARRAYS:
            out[str(path.parent.parent.relative_to(cache)), name] = group[name][:]
    return out


@pytest.mark.slow
def test_killed_extraction_resumes_to_identical_latents(tmp_path):
    data = tmp_path / "data"
    _extract_here(tmp_path, str(tmp_path / "ref.zarr"), data)
    cache = tmp_path / "killed.zarr"
    kills = 0
    for _ in range(3):  # kill at three different moments of progress
        proc = _extract(tmp_path, str(cache), data)
        before = _done_count(cache)[0]
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            done, total = _done_count(cache)
            if done > before and done < total:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.02)
        proc.wait(timeout=60)
    assert kills >= 1, "extraction finished before it could be killed; enlarge the dataset"
    _extract_here(tmp_path, str(cache), data)
    ref, got = _read_all(tmp_path / "ref.zarr"), _read_all(cache)
    assert ref.keys() == got.keys() and len(ref) == 3 * len(ARRAYS)  # train, valid, test
    for key in ref:
        np.testing.assert_array_equal(got[key], ref[key], err_msg=str(key))


OPEN_AT = """
import os, sys
from jpegai_fd.cache.store import LatentStore
store, go = sys.argv[1], sys.argv[2]
open(f"{go}.ready.{os.getpid()}", "w").close()
while not os.path.exists(go):
    pass
LatentStore(store)
"""


@pytest.mark.slow
def test_processes_opening_a_new_store_at_the_same_moment_all_succeed(tmp_path):
    # Parallel jobs start together on a fresh paths.cache: creating its root group must not race.
    for round_ in range(3):
        go = tmp_path / f"go{round_}"  # released together once every interpreter has started
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AT, str(tmp_path / f"r{round_}" / "latents.zarr"), str(go)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob(f"go{round_}.ready.*"))) < 4:
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a process did not start"
            time.sleep(0.01)
        go.touch()
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), [e[-500:] for e in errors if e]
