"""A tracking server that dies mid-job: the job finishes and keeps its results in its output folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from conftest import free_port
from jfd_testing import tiny_overrides
from jpegai_fd.cli.server import MlflowServer


@pytest.mark.slow
def test_job_keeps_its_results_when_the_server_dies(tmp_path):
    server = MlflowServer(
        f"sqlite:///{tmp_path}/m.db", str(tmp_path / "art"), port=free_port(), log_file=tmp_path / "server.log"
    ).start()
    args = [
        *tiny_overrides(tmp_path),
        f"tracking.uri={server.uri}",
        "tuning.n_trials=40",
        "tuning.cv_folds=3",
        "tracking.retry_s=2",  # a server back within it is retried: tests/test_tracking_sync.py
        f"hydra.run.dir={tmp_path}/run",
    ]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    job = subprocess.Popen(
        [sys.executable, "-m", "jpegai_fd", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        client = MlflowClient(server.uri)
        deadline = time.monotonic() + 120
        running = []
        while not running and time.monotonic() < deadline and job.poll() is None:
            exp = client.get_experiment_by_name("jpegai_fd")
            running = client.search_runs([exp.experiment_id], "attributes.status = 'RUNNING'") if exp else []
            time.sleep(0.3)
        assert running, "the job's run never appeared while the job ran"
    finally:
        server.stop()  # mid-job: the job is still tuning
    out, _ = job.communicate(timeout=300)
    assert job.returncode == 0, out[-3000:]
    summary = json.loads((tmp_path / "run" / "results.json").read_text())
    assert summary["status"] == "finished" and summary["tracking_error"]
    assert 0 <= summary["metrics"]["test/accuracy"] <= 1
    assert summary["run_id"] == running[0].info.run_id
    figures = tmp_path / "run" / "artifacts" / "figures"
    assert {p.name for p in figures.iterdir()} == {
        "confusion_matrix.png",
        "roc_curve.png",
        "feature_importance.png",
        "reliability.png",
    }
    assert (tmp_path / "run" / "artifacts" / "optuna_trials.csv").is_file()
    assert "MLflow tracking at" in out and "results stay in" in out
