"""Sharded extraction: several real processes fill one cache at once (each owns whole chunks) and the
result equals a single-process extraction, bad images included; a killed shard rerun completes it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import zarr

from jpegai_fd.datasets.synthetic import generate

CHUNK = 4


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """A Kaggle-layout dataset (generated faces, 128x128) with one truncated image in train."""
    root = tmp_path_factory.mktemp("sharded") / "faces"
    generate(root, seed=3, size=128, num_per_class={"train": 40, "valid": 4, "test": 10})
    victim = root / "real_vs_fake" / "real-vs-fake" / "train" / "real" / "000007.jpg"
    victim.write_bytes(victim.read_bytes()[:400])
    return root


def extract_args(root: Path, cache: Path, work: Path) -> list[str]:
    return [
        "dataset=faces140k",
        f"dataset.root={root}",
        "dataset.image_size=128",
        "dataset.max_bad_fraction=0.1",
        "dataset.num_valid=null",
        f"paths.cache={cache}",
        f"extract.chunk_size={CHUNK}",
        f"hydra.run.dir={work}/run-{time.time_ns()}",
        f"hydra.sweep.dir={work}/sweep-{time.time_ns()}",
    ]


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "jpegai_fd.extract", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]


def read_cache(cache: Path) -> dict:
    """Every array of every group, keyed by (group path, array path)."""
    out = {}
    for meta in sorted(cache.rglob("done/zarr.json")):
        group_dir = meta.parent.parent
        for array_meta in sorted(group_dir.rglob("zarr.json")):
            node = zarr.open(str(array_meta.parent), mode="r")
            if isinstance(node, zarr.Array):
                out[str(group_dir.relative_to(cache)), str(array_meta.parent.relative_to(group_dir))] = node[:]
    return out


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("reference")
    finish(start(extract_args(dataset, work / "single.zarr", work), work))
    ref = read_cache(work / "single.zarr")
    assert len({g for g, _ in ref}) == 3  # train, valid and test groups
    return ref


def assert_same(got: dict, ref: dict) -> None:
    assert got.keys() == ref.keys()
    for key in ref:
        np.testing.assert_array_equal(got[key], ref[key], err_msg=str(key))
    failed = [v for (g, a), v in ref.items() if a == "failed" and v.any()]
    assert len(failed) == 1 and failed[0].sum() == 1  # the truncated image, in both


@pytest.mark.slow
def test_concurrent_shards_equal_single_process(dataset, reference, tmp_path):
    cache = tmp_path / "sharded.zarr"
    base = extract_args(dataset, cache, tmp_path)
    procs = [
        start([*base, "extract.shard=0", "extract.num_shards=3"], tmp_path),
        start([*base, "extract.shard=1", "extract.num_shards=3"], tmp_path),
        start([*base, "extract.shard=2", "extract.num_shards=3"], tmp_path),
    ]
    for proc in procs:
        finish(proc)
    assert_same(read_cache(cache), reference)


@pytest.mark.slow
def test_joblib_multirun_of_shards_equals_single_process(dataset, reference, tmp_path):
    cache = tmp_path / "multirun.zarr"
    finish(
        start(
            [
                "-m",
                "extract.shard=0,1",
                "extract.num_shards=2",
                "hydra/launcher=joblib",
                *extract_args(dataset, cache, tmp_path),
            ],
            tmp_path,
        )
    )
    assert_same(read_cache(cache), reference)


def owned_progress(cache: Path, shard: int, num_shards: int) -> tuple[int, int]:
    """(settled, total) images in the chunks that ``shard`` owns, over the train group."""
    for meta in cache.rglob("done/zarr.json"):
        group = zarr.open_group(str(meta.parent.parent), mode="r")
        if group.attrs.get("split") != "train":
            continue
        settled = group["done"][:] | group["failed"][:]
        owned = (np.arange(settled.size) // CHUNK) % num_shards == shard
        return int(settled[owned].sum()), int(owned.sum())
    return 0, 1


@pytest.mark.slow
def test_killed_shard_rerun_completes_to_the_same_cache(dataset, reference, tmp_path):
    cache = tmp_path / "killed.zarr"
    base = extract_args(dataset, cache, tmp_path)
    other = start([*base, "extract.shard=0", "extract.num_shards=2"], tmp_path)
    victim = start([*base, "extract.shard=1", "extract.num_shards=2"], tmp_path)
    killed = False
    deadline = time.time() + 300
    while time.time() < deadline and victim.poll() is None:
        settled, total = owned_progress(cache, 1, 2)
        if 0 < settled <= total // 2:  # early, so that the shard cannot finish before the signal lands
            victim.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.01)
    victim.wait(timeout=60)
    finish(other)
    assert killed, "shard 1 finished before it could be killed; enlarge the dataset"
    assert owned_progress(cache, 1, 2)[0] < owned_progress(cache, 1, 2)[1]  # really left incomplete
    finish(start([*base, "extract.shard=1", "extract.num_shards=2"], tmp_path))  # the rerun of the killed shard
    assert_same(read_cache(cache), reference)


@pytest.mark.slow
def test_shards_as_a_slurm_job_array_equal_single_process(slurm_cluster, dataset, reference, tmp_path):
    """``hydra/launcher=slurm_debug``: 4 shards as 4 tasks of one array on the one-node SLURM cluster."""
    cache = tmp_path / "slurm.zarr"
    args = ["-m", "extract.shard=0,1,2,3", "extract.num_shards=4", "hydra/launcher=slurm_debug"]
    finish(start([*args, *extract_args(dataset, cache, tmp_path)], tmp_path))
    assert_same(read_cache(cache), reference)
    tasks = sorted(tmp_path.glob("sweep-*/.submitit/*_*/"))
    logs = ["".join(p.read_text() for p in task.glob("*_log.*")) for task in tasks]
    assert sorted(re.findall(r"\(shard (\d) of 4\)", "".join(logs))) == ["0", "1", "2", "3"]  # a task per shard
