"""The cache never serves bytes it did not write: a chunk file deleted from a finished group is extracted
again (those images only), a corrupted one fails the job in one line, ``cache verify`` finds it and
``--repair`` has it extracted again, a read-only cache names the group; caches from before checksums
still read. What a user meets as an exit code or an error line goes through the real command line; the
extractions and repairs around it run in-process."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr

from jfd_testing import compose_cfg, job_inputs, load_splits, run_cli, tiny_overrides, train
from jpegai_fd.cache.__main__ import main as cache_main
from jpegai_fd.extract import extract_latents
from readonly_fs import open_up, readonly_runner


def extract(tmp: Path, *extra: str, wrap=None):
    args = [*tiny_overrides(tmp), f"hydra.run.dir={tmp}/out", *extra]
    return run_cli("jpegai_fd.extract", args, cwd=tmp, wrap=wrap)


def extract_here(tmp: Path, caplog) -> str:
    """``python -m jpegai_fd.extract`` of the tiny demo in-process; its log."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        extract_latents(*job_inputs(compose_cfg(tiny_overrides(tmp))))
    return caplog.text


def split_group(cache: Path, split: str = "test") -> Path:
    return next(cache.glob(f"*/*/bpp*/{split}"))


def latents(group: Path) -> dict[str, np.ndarray]:
    arrays = ("y/model_y", "y/model_uv", "y_hat/model_y", "y_hat/model_uv")
    return {name: zarr.open_array(str(group / name), mode="r")[:] for name in arrays}


@pytest.fixture()
def extracted(tmp_path, caplog):
    extract_here(tmp_path, caplog)
    group = split_group(tmp_path / "cache.zarr")
    return tmp_path, group, latents(group)


@pytest.mark.slow
def test_a_deleted_chunk_of_a_finished_group_is_extracted_again_and_only_its_images(extracted, caplog):
    tmp, group, before = extracted
    (group / "y_hat/model_y/c/1/0/0/0").unlink()  # chunk 1 of 2 (tiny: 12 test images, chunks of 8)
    again = extract_here(tmp, caplog)
    assert "1 chunk(s) of cache group" in again and "are missing" in again
    assert "extract test bpp=12: 4/4 img" in again  # the last chunk's 4 images, nothing else
    for name, values in latents(group).items():
        np.testing.assert_array_equal(values, before[name], err_msg=name)


def corrupt(chunk: Path) -> None:
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))


@pytest.mark.slow
def test_a_corrupted_chunk_fails_the_job_in_one_line_and_verify_repair_has_it_extracted_again(
    extracted, caplog, capsys
):
    tmp, group, before = extracted
    for latent in ("y", "y_hat"):
        for component in ("model_y", "model_uv"):
            corrupt(group / latent / component / "c/0/0/0/0")
    job = run_cli("jpegai_fd", [*tiny_overrides(tmp), f"hydra.run.dir={tmp}/job"], cwd=tmp)
    assert job.returncode == 2, job.stderr[-3000:]
    error = [line for line in job.stderr.splitlines() if line.startswith("jpegai_fd: error:")]
    assert len(error) == 1 and "are damaged" in error[0] and "cache verify" in error[0], job.stderr[-3000:]
    assert "Traceback" not in job.stderr

    cache = str(tmp / "cache.zarr")
    found = run_cli("jpegai_fd.cache", ["verify", "--cache", cache], cwd=tmp)
    assert found.returncode == 1 and "test: damaged: chunks [0]" in found.stdout, found.stdout + found.stderr
    assert found.stdout.count(": ok") == 2  # train and valid
    # In-process from here: the repair, the extraction it calls for, a clean verify and a job on the cache.
    assert cache_main(["verify", "--cache", cache, "--repair"]) == 0
    assert "test: repaired: chunks [0]" in capsys.readouterr().out
    assert "extract test bpp=12: 8/8 img" in extract_here(tmp, caplog)
    for name, values in latents(group).items():
        np.testing.assert_array_equal(values, before[name], err_msg=name)
    assert cache_main(["verify", "--cache", cache]) == 0
    train(compose_cfg(tiny_overrides(tmp)))  # the raw reader checks good chunks as good


@pytest.mark.slow
def test_a_missing_chunk_on_a_read_only_cache_is_one_line_naming_the_group(extracted):
    tmp, group, _ = extracted
    (group / "y/model_y/c/0/0/0/0").unlink()
    for path in [tmp, *tmp.rglob("*")]:  # the job may run as another user (the permissions fallback)
        path.chmod(0o777 if path.is_dir() else 0o666)
    cache = tmp / "cache.zarr"
    _, wrap = readonly_runner(cache)
    try:
        job = extract(tmp, f"hydra.run.dir={tmp}/ro", wrap=wrap)
    finally:
        open_up(cache)
    assert job.returncode == 2, job.stderr[-3000:]
    line = job.stderr.strip().splitlines()[-1]
    assert line.startswith("jpegai_fd: error: 1 chunk(s) of cache group") and group.name in line
    assert "verify" in line and "--repair" in line


def test_a_cache_written_before_checksums_still_reads_and_verify_calls_it_unchecked(tmp_path, monkeypatch):
    from jpegai_fd.cache import store
    from jpegai_fd.cache.inventory import verify
    from jpegai_fd.features.matrix import flatten_matrix
    from jfd_testing import cached_latents
    from jpegai_fd.encoders import DCTEncoder

    cfg = compose_cfg(tiny_overrides(tmp_path))
    train, _ = load_splits(cfg)
    monkeypatch.setattr(store, "Crc32cCodec", lambda: None)  # arrays as an older version wrote them
    group, _ = cached_latents(cfg, train, DCTEncoder())
    monkeypatch.undo()
    assert not any(store.checksummed(a) for a in group.chunked_arrays())
    shutil.rmtree(Path(group.group.store.root) / group.group.path / "y/model_y/c/0")  # unchecked: not noticed
    arrays = [group.array("y_hat", "model_y")]
    matrix = flatten_matrix(arrays, group.labels)
    assert matrix.X.shape[0] == len(train) and np.abs(matrix.X).sum() > 0
    assert [state.split(" ")[0] for _, state in verify(cfg.paths.cache)] == ["unchecked"]
