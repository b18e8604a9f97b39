"""encoder=jpegai from the real command line, with the fake reference software installed in tmp."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from fake_jpegai.install import install_fake
from jfd_testing import run_cli, tiny_overrides


@pytest.mark.slow
def test_extract_with_jpegai_fills_the_cache(tmp_path):
    root, _ = install_fake(tmp_path / "install")
    args = [
        *tiny_overrides(tmp_path, train=3, test=2, size=48),
        "encoder=jpegai",
        f"encoder.root={root}",
        "encoder.num_workers=2",
        f"encoder.log_dir={tmp_path}/logs",
        "encoder.keep_extras=true",
        "bpp=6",
    ]
    done = run_cli("jpegai_fd.extract", args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert "Logger[" not in output  # the software's chatter is in the logs
    assert "JPEG AI: 2 worker(s) ready" in output
    store = zarr.open_group(str(tmp_path / "cache.zarr"), mode="r")
    names = [name for name, _ in store.members(max_depth=None) if name.endswith("/done")]
    assert len(names) == 3 and all("/jpegai-" in n and "/bpp6/" in n for n in names)
    for name in names:
        group = store[name.rsplit("/", 1)[0]]
        n = group["done"].shape[0]
        assert group["done"][:].all()
        assert group["y_hat/model_y"].shape == (n, 160, 3, 3) and group["y/model_uv"].shape == (n, 96, 3, 3)
        assert set(group["extras/tool_id"][:].tolist()) <= {0, 1, 2, 3}  # the base model each image's search chose
        assert np.abs(group["y/model_y"][:]).sum() > 0
        assert group.attrs["encoder"]["chroma"] == "444"
    # Run again: everything is cached, no worker needs to start.
    again = run_cli("jpegai_fd.extract", args, cwd=tmp_path)
    assert again.returncode == 0 and "worker(s) ready" not in again.stdout + again.stderr


def test_table_mode_with_an_unsupported_rate_is_one_line(tmp_path):
    root, _ = install_fake(tmp_path / "install")
    done = run_cli(
        "jpegai_fd.extract",
        [*tiny_overrides(tmp_path), "encoder=jpegai", f"encoder.root={root}", "encoder.rate_mode=table", "bpp=6"],
        cwd=tmp_path,
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("jpegai_fd: error:")]
    assert errors == [
        "jpegai_fd: error: bpp=6 is not available with encoder.rate_mode=table (rates: 12, 25, 50, "
        "75, 100); use one of them or encoder.rate_mode=search"
    ]
