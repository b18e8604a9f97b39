"""`python -m jpegai_fd.cache ls|gc` on a real store made by real extractions: an image edit leaves a
superseded group that gc removes (not while a process has it open), --older-than removes unused
groups, --dry-run removes nothing, and a folder that is not a cache is one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jfd_testing import run_cli, tiny_overrides
from jpegai_fd.cache.locks import used_path

HOLD = """
import sys, time
from pathlib import Path
from jpegai_fd.cache.locks import GroupUse
use = GroupUse(Path(sys.argv[1]), sys.argv[2], writable=True)  # what LatentStore.open takes
print("holding", flush=True)
time.sleep(600)
"""


def extract(tmp: Path, cache: Path, name: str):
    args = [*tiny_overrides(tmp, train=10, test=4), f"paths.cache={cache}", f"hydra.run.dir={tmp}/outputs/{name}"]
    result = run_cli("jpegai_fd.extract", args, cwd=tmp)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def cache_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_cli("jpegai_fd.cache", list(args), cwd=cwd)


def group_lines(listing: str) -> list[str]:
    return [line for line in listing.splitlines() if line.startswith("synthetic ")]


def group_keys(cache: Path) -> set[str]:
    return {m.parent.parent.relative_to(cache).as_posix() for m in cache.glob("*/*/*/*/done/zarr.json")}


@pytest.mark.slow
def test_ls_then_gc_after_an_image_edit(tmp_path):
    cache = tmp_path / "cache.zarr"
    extract(tmp_path, cache, "first")
    listing = cache_cli("ls", "--cache", str(cache), cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    lines = group_lines(listing.stdout)
    assert len(lines) == 3, listing.stdout
    assert any(" valid " in ln and " 12/12 " in ln for ln in lines), listing.stdout
    assert any(" train " in ln and " 20/20 " in ln and " 12 " in ln and "dct-" in ln for ln in lines), listing.stdout
    assert any(" test " in ln and " 8/8 " in ln for ln in lines), listing.stdout
    assert "LAST USED" in listing.stdout and " KB" in listing.stdout
    old = group_keys(cache)
    (stale,) = [k for k in old if k.endswith("/train")]

    # A long job keeps reading the train group while one train image is edited (still a valid JPEG)
    # and a new run extracts a new train group: the old one is superseded, but in use.
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(cache), stale], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        images = sorted((tmp_path / "data").rglob("train/*/*.jpg"))
        images[0].write_bytes(images[1].read_bytes())
        extract(tmp_path, cache, "edited")
        keys = group_keys(cache)
        assert len(keys) == 4 and stale in keys
        listing = cache_cli("ls", "--cache", str(cache), cwd=tmp_path).stdout
        assert [ln for ln in group_lines(listing) if ln.endswith(stale)][0].split()[-2] == "superseded,in-use", listing

        dry = cache_cli("gc", "--cache", str(cache), "--dry-run", cwd=tmp_path)
        assert dry.returncode == 0 and f"would remove: {stale}" in dry.stdout, dry.stdout + dry.stderr
        held = cache_cli("gc", "--cache", str(cache), cwd=tmp_path)
        assert held.returncode == 0 and f"kept (in use): {stale}" in held.stdout, held.stdout + held.stderr
        assert group_keys(cache) == keys
    finally:
        holder.kill()
        holder.wait()

    dry = cache_cli("gc", "--cache", str(cache), "--dry-run", cwd=tmp_path)
    assert f"would remove: {stale} (" in dry.stdout and "in use now" not in dry.stdout, dry.stdout
    assert group_keys(cache) == keys
    gc = cache_cli("gc", "--cache", str(cache), cwd=tmp_path)
    assert gc.returncode == 0 and f"removed: {stale}" in gc.stdout, gc.stdout + gc.stderr
    assert group_keys(cache) == keys - {stale}
    assert not (cache / stale).exists() and not used_path(cache, stale).exists()
    # What is still referenced stays: the next run extracts nothing.
    assert "all 20 images cached" in extract(tmp_path, cache, "after-gc")  # train; valid and test likewise


@pytest.mark.slow
def test_gc_older_than_removes_unused_groups(tmp_path):
    cache = tmp_path / "cache.zarr"
    extract(tmp_path, cache, "first")
    keys = group_keys(cache)
    (test_key,) = [k for k in keys if k.endswith("/test")]
    ten_days_ago = time.time() - 10 * 86400
    os.utime(used_path(cache, test_key), (ten_days_ago, ten_days_ago))
    keep = cache_cli("gc", "--cache", str(cache), "--older-than", "30", cwd=tmp_path)
    assert keep.returncode == 0 and group_keys(cache) == keys, keep.stdout + keep.stderr
    gc = cache_cli("gc", "--cache", str(cache), "--older-than", "5", cwd=tmp_path)
    assert gc.returncode == 0 and f"removed: {test_key} (" in gc.stdout and "unused for 10.0 days" in gc.stdout, (
        gc.stdout
    )
    assert group_keys(cache) == keys - {test_key}


@pytest.mark.parametrize("args", [["ls"], ["gc", "--dry-run"]])
def test_a_folder_that_is_not_a_cache_is_one_line(tmp_path, args):
    (tmp_path / "not-a-cache").mkdir()
    result = cache_cli(*args, "--cache", str(tmp_path / "not-a-cache"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"jpegai_fd.cache: error: '{tmp_path / 'not-a-cache'}' is not a latent cache (no Zarr group there); "
        "pass the folder that paths.cache names (default cache/latents.zarr)"
    ]
