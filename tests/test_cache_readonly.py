"""A fully extracted cache on a read-only file system trains a job (no lock, claim or memo file is
written), and extracting into it is one clear line. The cache folder is made really read-only for
the command (a read-only bind mount in a private namespace where possible: see readonly_fs)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import zarr

from jfd_testing import run_cli, tiny_overrides
from readonly_fs import open_up, readonly_runner


@pytest.fixture(scope="module")
def extracted():
    """(work folder, shared folder holding a fully extracted cache and its side files, base overrides).

    Made outside pytest's private tmp folder and open to all, so that the unprivileged-user fallback
    can use it too."""
    base = Path(tempfile.mkdtemp(prefix="jfd-readonly-"))
    base.chmod(0o777)
    shared, work = base / "shared", base / "work"
    shared.mkdir()
    work.mkdir(mode=0o777)
    work.chmod(0o777)
    args = [
        *tiny_overrides(work, train=10, test=4),
        f"paths.cache={shared}/latents.zarr",
        f"tracking.uri=sqlite:///{work}/mlflow.db",
        f"hydra.run.dir={work}/outputs/extract",
    ]
    done = run_cli("jpegai_fd.extract", args, cwd=work)
    assert done.returncode == 0, done.stderr[-3000:]
    for path in [work, *work.rglob("*")]:  # the job runs as another user in the fallback
        path.chmod(0o777 if path.is_dir() else 0o666)
    yield work, shared, args
    open_up(shared)
    shutil.rmtree(base, ignore_errors=True)


def tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


def job_args(work: Path, args: list[str], name: str) -> list[str]:
    return [*[a for a in args if not a.startswith("hydra.run.dir=")], f"hydra.run.dir={work}/outputs/{name}"]


@pytest.mark.slow
def test_job_trains_from_a_read_only_cache(extracted):
    work, shared, args = extracted
    # The extra copy keeps the module's cache writable for the other test; this one becomes read-only.
    ro = shutil.copytree(shared, work.parent / "ro-copy")
    ro_args = [a.replace(str(shared), str(ro)) for a in args]
    mechanism, wrap = readonly_runner(ro)
    before = tree(ro)
    print(f"read-only by {mechanism}")
    env = {"HOME": str(work)}  # libraries' own caches, also for the unprivileged fallback
    try:
        result = run_cli("jpegai_fd", job_args(work, ro_args, "train"), cwd=work, env=env, wrap=wrap)
    finally:
        open_up(ro)
    assert result.returncode == 0, f"[{mechanism}] {result.stderr[-3000:]}"
    log = result.stdout + result.stderr
    assert "all 20 images cached, nothing to extract" in log and "all 8 images cached" in log
    assert "Traceback" not in log and "Errno" not in log and "is read-only" not in log
    assert (work / "outputs" / "train" / "results.json").is_file()
    assert tree(ro) == before  # nothing created or touched in the read-only cache


@pytest.mark.slow
def test_extracting_into_a_read_only_cache_is_one_line(extracted):
    work, shared, args = extracted
    # A group that is missing (another bpp) and one with a chunk not done.
    for meta in shared.rglob("done/zarr.json"):
        group = zarr.open_group(str(meta.parent.parent), mode="r+")
        if group.attrs["split"] == "train":
            group["done"][:8] = np.zeros(8, dtype=bool)
    mechanism, wrap = readonly_runner(shared)
    for extra, what in (
        (["bpp=6"], "has no latents for synthetic/train at bpp=6"),
        ([], "lacks the latents of 8 of 20 images of synthetic/train at bpp=12"),
    ):
        result = run_cli(
            "jpegai_fd.extract", [*job_args(work, args, "again"), *extra], cwd=work, env={"HOME": str(work)}, wrap=wrap
        )
        assert result.returncode == 2, f"[{mechanism}] {result.stderr[-3000:]}"
        errors = [line for line in result.stderr.splitlines() if line.startswith("jpegai_fd: error:")]
        assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
        assert f"latent cache '{shared}/latents.zarr' is read-only" in errors[0], errors[0]
        assert what in errors[0] and "paths.cache" in errors[0], errors[0]
