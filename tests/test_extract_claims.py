"""Jobs that fill the same cache group at once split its chunks instead of each encoding all of them:
chunk claims (POSIX record locks) held by real processes, and two real extraction processes."""

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

from jpegai_fd.cache.locks import ChunkClaims, ChunkQueue, claims_path
from jpegai_fd.datasets.synthetic import generate

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, int(sys.argv[2]))
print("held", flush=True)
sys.stdin.readline()
"""


def hold(path: Path, k: int) -> subprocess.Popen:
    """Another process that claims chunk ``k`` and keeps it until its stdin gets a line (or it dies)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(k)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_chunk_claimed_elsewhere_is_skipped_then_dropped_once_written(tmp_path):
    path = claims_path(tmp_path / "cache.zarr", "faces/dct/bpp12/train")
    written: set[int] = set()
    claims = ChunkClaims(path)
    holder = hold(path, 1)
    queue = ChunkQueue([0, 1, 2], claims, lambda k: k in written)
    assert [queue.take(), queue.take()] == [0, 2]
    assert queue.take() is None and not queue.exhausted  # chunk 1 is being encoded elsewhere
    written.add(1)  # the other job writes it and lets go
    holder.communicate("done\n", timeout=30)
    assert queue.take() is None and queue.exhausted  # written meanwhile: not encoded again here
    claims.close()


def test_a_chunk_whose_claimer_died_unwritten_is_claimed_again(tmp_path):
    path = claims_path(tmp_path / "cache.zarr", "g")
    claims = ChunkClaims(path)
    holder = hold(path, 0)
    queue = ChunkQueue([0], claims, lambda k: False)
    assert queue.take() is None
    holder.kill()
    holder.wait(timeout=30)
    assert queue.take() == 0
    claims.close()


def extract(root: Path, cache: Path, run_dir: Path) -> subprocess.Popen:
    args = [
        "dataset=faces140k",
        f"dataset.root={root}",
        "dataset.image_size=64",
        "dataset.num_valid=null",
        f"paths.cache={cache}",
        "extract.chunk_size=4",
        f"hydra.run.dir={run_dir}",
    ]
    return subprocess.Popen(
        [sys.executable, "-m", "jpegai_fd.extract", *args],
        cwd=run_dir.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def train_done(cache: Path) -> np.ndarray | None:
    metas = [m for m in cache.rglob("done/zarr.json") if m.parent.parent.name == "train"]
    return zarr.open(str(metas[0].parent), mode="r")[:] if metas else None


def wait_done(cache: Path, proc: subprocess.Popen, at_least: int) -> None:
    """Until at least ``at_least`` training images are written to the cache (``proc`` still running)."""
    deadline = time.monotonic() + 300
    while (done := train_done(cache)) is None or done.sum() < at_least:
        assert proc.poll() is None and time.monotonic() < deadline, "the job ended before the other one wrote"
        time.sleep(0.02)


@pytest.mark.slow
def test_two_jobs_extracting_one_group_encode_each_chunk_once(tmp_path):
    root = tmp_path / "faces"
    generate(root, seed=5, size=64, num_per_class={"train": 300, "valid": 2, "test": 4})
    cache = tmp_path / "cache.zarr"
    first = extract(root, cache, tmp_path / "first")
    wait_done(cache, first, 4)  # the first job has written a chunk and claimed the next ones
    # Frozen, it holds its claims while the second job starts: the second encodes the other chunks and waits
    # for the claimed ones, whatever the two processes' speeds (SIGCONT once the second has written a chunk).
    os.kill(first.pid, signal.SIGSTOP)
    try:
        stopped_at = int(train_done(cache).sum())
        second = extract(root, cache, tmp_path / "second")
        wait_done(cache, second, stopped_at + 4)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    for proc in (first, second):
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    new = []
    for run in ("first", "second"):
        line = re.search(
            r"extract: train (\d+) new, valid (\d+) new, test (\d+) new", (tmp_path / run / "extract.log").read_text()
        )
        new.append(int(line.group(1)))
    assert sum(new) == 600 and min(new) > 0, new  # every image encoded exactly once, by one of the two
    assert train_done(cache).all()
    first_log = (tmp_path / "first" / "extract.log").read_text()
    assert re.search(r"latents train bpp=12: \d+ images were extracted meanwhile by another job", first_log)
