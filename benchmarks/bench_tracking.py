"""Per-job MLflow logging overhead: a sqlite file vs an HTTP tracking server (sqlite backend).

Replays what one job logs through the real :class:`jpegai_fd.tracking.TrackedRun` (run with tags and
~60 params, config.yaml, metrics, a 20-trial table and series, confusion/ROC/importance figures and
their JSON) and times it, from opening the run to the end of the upload. The time includes drawing
the figures; drawing alone (no tracking) is measured too, so tracking = total - drawing.

    python benchmarks/bench_tracking.py [--jobs 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_common import compose_cfg

from jpegai_fd.server import MlflowServer
from jpegai_fd.tracking.job_artifacts import log_trials
from jpegai_fd.tracking.mlflow_run import TrackedRun
from jpegai_fd.tracking.job_artifacts import log_evaluation, log_importances


class _Forest:  # the attribute a fitted random forest exposes; drawing needs nothing else
    def __init__(self, n):
        self.feature_importances_ = np.random.default_rng(0).random(n)


def one_job(cfg, workdir: Path) -> float:
    rng = np.random.default_rng(0)
    y_true = np.repeat([0, 1], 50)
    p_real = np.clip(y_true * 0.3 + rng.random(100) * 0.7, 0, 1)
    trials = pd.DataFrame(
        {
            "number": range(20),
            "value": rng.random(20),
            "state": ["COMPLETE"] * 20,
            "duration": pd.to_timedelta(rng.random(20), unit="s"),
            "params_max_depth": rng.integers(4, 40, 20),
            "user_attrs_fold_scores": [list(rng.random(3)) for _ in range(20)],
        }
    )
    shapes = {"model_y": (160, 16, 16), "model_uv": (96, 16, 16)}
    start = time.perf_counter()
    with TrackedRun(cfg, workdir) as run:
        run.log_metrics({f"test/m{i}": float(i) for i in range(6)} | {f"time/t{i}_s": 1.0 for i in range(6)})
        log_evaluation(run, y_true, (p_real < 0.5).astype(int), p_real, "bench")
        log_importances(run, _Forest(256 * 256), shapes, "flatten", "bench")
        log_trials(run, trials)
    assert run.lost is None, run.lost
    return time.perf_counter() - start


def draw_only(workdir: Path) -> float:
    """The same artifacts written locally without any tracking, for the figure-drawing share."""

    class Local:
        artifact_dir = workdir / "a"

        def _local(self, path):
            p = self.artifact_dir / path
            p.parent.mkdir(parents=True, exist_ok=True)
            return p

    local = Local()
    local.log_dict = lambda d, p: TrackedRun.log_dict(local, d, p)
    local.log_text = lambda t, p: TrackedRun.log_text(local, t, p)
    local.log_figure = lambda f, p: TrackedRun.log_figure(local, f, p)
    local.log_series = local.log_metrics = lambda *a, **k: None
    rng = np.random.default_rng(0)
    y_true = np.repeat([0, 1], 50)
    p_real = rng.random(100)
    start = time.perf_counter()
    log_evaluation(local, y_true, (p_real < 0.5).astype(int), p_real, "bench")
    log_importances(local, _Forest(256 * 256), {"model_y": (160, 16, 16), "model_uv": (96, 16, 16)}, "flatten", "bench")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = MlflowServer(f"sqlite:///{tmp}/server.db", str(tmp / "art"), port=port, log_file=tmp / "server.log")
        server.start()
        results = {}
        try:
            for label, uri in (("sqlite file", f"sqlite:///{tmp}/file.db"), ("http server", server.uri)):
                cfg = compose_cfg([f"tracking.uri={uri}", "tracking.experiment=bench"])
                one_job(cfg, tmp / f"warm_{label[:4]}")  # creates the database / experiment
                results[label] = [one_job(cfg, tmp / f"{label[:4]}{i}") for i in range(args.jobs)]
            drawing = statistics.median(draw_only(tmp / f"draw{i}") for i in range(3))
        finally:
            server.stop()
    print(f"per-job tracking time (seconds, median of {args.jobs}; includes drawing the 3 figures, {drawing:.2f} s):")
    for label, times in results.items():
        print(f"  {label:12s} median {statistics.median(times):.2f}  min {min(times):.2f}  max {max(times):.2f}")
    a, b = (statistics.median(t) for t in results.values())
    print(f"  tracking only (median - drawing): sqlite file {a - drawing:.2f}, http server {b - drawing:.2f}")
    print(f"  http / sqlite ratio (totals): {b / a:.2f}")


if __name__ == "__main__":
    main()
