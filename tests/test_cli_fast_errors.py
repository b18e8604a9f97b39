"""A bad override is refused before the heavy libraries load (what makes a typo cost well under 2 s)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

HEAVY = ("mlflow", "torch", "zarr", "sklearn", "optuna", "lightgbm")


@pytest.mark.parametrize(
    "args", [["preprocess=foo"], ["-m", "preprocess=flatten,single,multi", "bpp=6,12", "compnent=y"]]
)
def test_a_typo_is_refused_before_heavy_imports(tmp_path, args):
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "jpegai_fd", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("jpegai_fd: error:")]
    assert len(errors) == 1, proc.stderr[-2000:]
    loaded = {
        m.group(1).split(".")[0] for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", proc.stderr, re.M)
    }
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    assert not any(tmp_path.iterdir())  # no work started: no data, cache, database or output folder
