"""A read-only or full output folder, cache or tracking store ends the command in one ``jpegai_fd: error:``
line naming the folder and the fix, exit 2, with no run left RUNNING; output folders are checked before
any work. Read-only folders are real read-only mounts (see readonly_fs); a full disk is a tiny tmpfs
mounted in a private mount namespace that only the command sees (``unshare -m``, as root)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from jfd_testing import run_cli, tiny_overrides
from readonly_fs import open_up, readonly_runner

TMPFS = 'mount -t tmpfs -o size="$2" tmpfs "$1" && shift 2 && exec "$@"'


def full_disk(folder: Path, size: str):
    """A wrapper running a command with ``folder`` a fresh tmpfs of ``size`` bytes (e.g. ``32k``)."""
    folder.mkdir(parents=True, exist_ok=True)
    wrap = lambda cmd: ["unshare", "-m", "--propagation", "private", "sh", "-c", TMPFS, "sh", str(folder), size, *cmd]  # noqa: E731
    probe = subprocess.run(wrap(["sh", "-c", f'head -c 1000000 /dev/zero > "{folder}/x"']), capture_output=True)
    assert os.geteuid() == 0 and probe.returncode != 0, "a tmpfs in a private mount namespace needs root here"
    return wrap


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and lines[-1].startswith("jpegai_fd: error:"), result.stderr[-3000:]
    assert sum(line.startswith("jpegai_fd: error:") for line in lines) == 1
    return lines[-1]


def statuses(tmp: Path) -> list[str]:
    client = MlflowClient(f"sqlite:///{tmp}/mlflow.db")
    experiment = client.get_experiment_by_name("jpegai_fd")
    return [] if experiment is None else [r.info.status for r in client.search_runs([experiment.experiment_id])]


def test_a_read_only_run_folder_is_one_line_before_any_work(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    _, wrap = readonly_runner(out, only="mount-namespace")
    result = run_cli("jpegai_fd", [*tiny_overrides(tmp_path), f"hydra.run.dir={out}/run"], cwd=tmp_path, wrap=wrap)
    line = one_error_line(result)
    assert f"hydra.run.dir={out}/run cannot be written (Read-only file system)" in line
    assert not (tmp_path / "cache.zarr").exists() and statuses(tmp_path) == []  # nothing extracted, no run


def test_a_read_only_sweep_folder_is_one_line_and_leaves_no_run(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    _, wrap = readonly_runner(out, only="mount-namespace")
    args = ["-m", "bpp=6,12", *tiny_overrides(tmp_path), f"hydra.sweep.dir={out}/sweep"]
    line = one_error_line(run_cli("jpegai_fd", args, cwd=tmp_path, wrap=wrap))
    assert f"hydra.sweep.dir={out}/sweep cannot be written" in line
    assert statuses(tmp_path) == []


def test_a_full_run_folder_is_one_line_before_any_work(tmp_path):
    out = tmp_path / "out"
    wrap = full_disk(out, "32k")
    result = run_cli("jpegai_fd", [*tiny_overrides(tmp_path), f"hydra.run.dir={out}/run"], cwd=tmp_path, wrap=wrap)
    assert f"hydra.run.dir={out}/run cannot be written (No space left on device)" in one_error_line(result)
    assert statuses(tmp_path) == []


@pytest.mark.slow
def test_a_run_folder_filling_up_during_a_job_is_one_line_and_its_run_ends_failed(tmp_path):
    out = tmp_path / "out"
    wrap = full_disk(out, "160k")  # room for the check and the first files, not for the figures and model
    result = run_cli("jpegai_fd", [*tiny_overrides(tmp_path), f"hydra.run.dir={out}"], cwd=tmp_path, wrap=wrap)
    line = one_error_line(result)
    assert f"cannot write '{out}" in line and "(No space left on device)" in line
    assert statuses(tmp_path) == ["FAILED"]


@pytest.mark.slow
def test_a_cache_filling_its_disk_during_a_job_is_one_line_and_its_run_ends_failed(tmp_path):
    disk = tmp_path / "disk"
    wrap = full_disk(disk, "256k")  # room for the check, not for the latents
    args = [*tiny_overrides(tmp_path), f"paths.cache={disk}/cache.zarr", f"hydra.run.dir={tmp_path}/run"]
    line = one_error_line(run_cli("jpegai_fd", args, cwd=tmp_path, wrap=wrap))
    assert f"cannot write '{disk}/cache.zarr'" in line and "(No space left on device)" in line
    assert statuses(tmp_path) == ["FAILED"]


@pytest.mark.slow
def test_a_read_only_tracking_folder_is_one_line_before_any_work(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    mechanism, wrap = readonly_runner(store)
    args = [*tiny_overrides(tmp_path), f"tracking.uri=sqlite:///{store}/mlflow.db", f"hydra.run.dir={tmp_path}/run"]
    try:
        result = run_cli("jpegai_fd", args, cwd=tmp_path, wrap=wrap)
    finally:
        open_up(store)
    assert f"tracking.uri={store} cannot be written" in one_error_line(result), mechanism
    assert not (tmp_path / "cache.zarr").exists()
