"""The tracking server entry point and the one-line error when no server answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from mlflow.tracking import MlflowClient

from conftest import free_port
from jfd_testing import compose_cfg, run_cli, tiny_overrides, train_in
from jpegai_fd.cli.server import MlflowServer


@pytest.mark.slow
def test_unreachable_server_fails_at_once_with_one_line(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    start = time.monotonic()
    result = run_cli("jpegai_fd", [*tiny_overrides(tmp_path), f"tracking.uri={uri}"], cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert uri in lines[0] and "python -m jpegai_fd.cli.server" in lines[0]
    assert not (tmp_path / "data").exists(), "no work may start before the server check"
    # The same through the environment variable, in a multirun.
    args = ["-m", "bpp=6,12", *[o for o in tiny_overrides(tmp_path) if not o.startswith("tracking.uri")]]
    env_result = subprocess.run(
        [sys.executable, "-m", "jpegai_fd", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri},
    )
    assert env_result.returncode == 2
    assert len(env_result.stderr.strip().splitlines()) == 1 and uri in env_result.stderr
    assert time.monotonic() - start < 110  # not MLflow's minutes of retries (a bound, not a benchmark)


@pytest.mark.slow
def test_server_command_starts_and_stops_a_server(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jpegai_fd.cli.server",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path}/m.db",
            "--artifacts-destination",
            str(tmp_path / "art"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner and "MLFLOW_TRACKING_URI" in banner
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        client = MlflowClient(f"http://127.0.0.1:{port}")
        exp = client.create_experiment("probe")
        run = client.create_run(exp)
        client.log_text(run.info.run_id, "hello", "note.txt")
        assert list((tmp_path / "art").rglob("note.txt")), "artifacts are proxied into --artifacts-destination"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)


@pytest.mark.slow
def test_job_logs_to_a_server_with_postgresql_backend(tmp_path, postgres):
    with MlflowServer(
        postgres, str(tmp_path / "artifacts"), port=free_port(), log_file=tmp_path / "server.log"
    ) as server:
        # The job in-process (the server and PostgreSQL are the processes that matter here).
        train_in(
            compose_cfg([*tiny_overrides(tmp_path), f"tracking.uri={server.uri}", "preprocess=single"]),
            tmp_path / "run",
        )
        client = MlflowClient(server.uri)
        exp = client.get_experiment_by_name("jpegai_fd")
        (run,) = client.search_runs([exp.experiment_id])
        assert run.info.status == "FINISHED" and run.data.tags["preprocess"] == "single"
        assert "test/accuracy" in run.data.metrics
        assert "figures/roc_curve.png" in {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    # The runs live in PostgreSQL, not in a file next to the job.
    import psycopg2

    conn = psycopg2.connect(postgres.replace("+psycopg2", ""))
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM runs WHERE status = 'FINISHED'")
    assert cur.fetchone()[0] == 1
    conn.close()
