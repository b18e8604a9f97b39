"""Helpers the benchmark scripts share: composing the project's config, and a process's memory."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir

import jpegai_fd  # noqa: F401  (registers the config schema and resolvers that conf/ needs)

CONF = Path(__file__).resolve().parent.parent / "conf"
# jfd_testing (tests/): the stage helpers the tests share; without this the scripts ran only with PYTHONPATH=tests.
sys.path.insert(0, str(CONF.parent / "tests"))
RESULTS = Path(__file__).resolve().parent / "results"
TINY = ["debug=tiny"]  # the toy size (conf/debug/tiny.yaml), for a quick check of a benchmark script
# The thesis's tuned models (docs/thesis.md). At 30,000 images scikit-learn's early_stopping="auto" is
# on for HistGradientBoosting (n > 10,000), so it is set on explicitly for smaller measurements.
THESIS_RF = dict(
    n_estimators=463, max_depth=30, max_features="sqrt", min_samples_leaf=2, oob_score=True, random_state=42
)
THESIS_HGB = dict(
    learning_rate=0.1297,
    max_iter=596,
    max_leaf_nodes=117,
    min_samples_leaf=18,
    l2_regularization=0.00304,
    random_state=42,
    validation_fraction=0.1,
    early_stopping=True,
)


def compose_cfg(overrides: list[str]):
    """The primary config composed with ``overrides``, as the command line would."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def rss_kib(field: str) -> int:
    """A /proc/self/status memory field (VmRSS, VmHWM) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def reset_peak_rss() -> None:
    """Reset the kernel's high-water mark (VmHWM) to the current resident size (Linux only)."""
    Path("/proc/self/clear_refs").write_text("5")


def run_worker(cmd: list[str], name: str) -> dict:
    """Run a benchmark's worker process and return the JSON of its ``RESULT`` line; exit naming
    ``name`` with the end of its stderr when it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not line:
        sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(line[-1][7:])


def measure_fit(model, build_train) -> tuple[dict, str]:
    """Build the training features (``build_train()``, a FeatureSet) and fit ``model`` on them.

    Returns ({fit_s, peak_rss_mib, matrix_mib, peak_over_matrix, train_shape}, what the fit printed).
    Peak memory: the kernel's high-water mark is reset right before the fit; "peak over matrix" is
    (that peak - the resident size before the features were built) / the float32 matrix's bytes, so
    the matrix counts as 1 (also when it is streamed from the cache and never built).
    """
    from jpegai_fd.classifiers import fit_on_rows

    before = rss_kib("VmRSS")
    fs = build_train()
    reset_peak_rss()
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        fit_on_rows(model, fs.X, fs.y, fs.groups)
    fit_s = time.perf_counter() - start
    peak = rss_kib("VmHWM")
    matrix = fs.X.shape[0] * fs.X.shape[1] * 4
    return (
        {
            "fit_s": fit_s,
            "peak_rss_mib": peak / 1024,
            "matrix_mib": matrix / 2**20,
            "peak_over_matrix": (peak - before) * 1024 / matrix,
            "train_shape": list(fs.X.shape),
        },
        printed.getvalue(),
    )


def hgb_binning_s(printed: str) -> float | None:
    """Seconds HistGradientBoosting (verbose) reported for binning its input, if it did."""
    found = re.search(r"Binning .*?: ([\d.]+) s", printed)
    return float(found.group(1)) if found else None
