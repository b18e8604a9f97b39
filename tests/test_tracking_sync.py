"""A tracking server lost mid-sweep: the jobs finish locally, `python -m jpegai_fd.cli.sync` uploads them
once the server is back (once), and a server back within `tracking.retry_s` is simply retried.
Real processes: the command line, `mlflow server` stopped and restarted on the same store and port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from conftest import free_port
from jfd_testing import run_cli, tiny_overrides
from jpegai_fd.cli.server import MlflowServer
from jpegai_fd.cli.sync import main as sync_main


class Restartable:
    """One ``mlflow server`` of this module's tests, stopped and started again on the same store and port (each
    test logs to an experiment of its own); ``up()`` starts it where a test left it stopped."""

    def __init__(self, folder):
        self.folder, self.port, self.server = folder, free_port(), None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        if self.server is None:
            store = f"sqlite:///{self.folder}/m.db"
            self.server = MlflowServer(store, str(self.folder / "art"), port=self.port, log_file=self.folder / "log")
            self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    restartable = Restartable(tmp_path_factory.mktemp("server"))
    yield restartable
    restartable.stop()


def runs(client, role, experiment="jpegai_fd"):
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], f"tags.`jpegai_fd.role` = '{role}'", max_results=100)


def start(tmp_path, args):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "jpegai_fd", *args],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def freeze_inside_the_run(proc, client, experiment="jpegai_fd") -> list[str]:
    """Read the job's output until its first job is inside its MLflow run (its extraction's first line comes
    after the run was created) and freeze the job there (SIGSTOP): the test then stops the server, whatever the
    job's speed. The lines read so far."""
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "latents train bpp=" in line:
            os.kill(proc.pid, signal.SIGSTOP)
            (run,) = runs(client, "job", experiment)
            assert run.info.status == "RUNNING"  # the run exists on the server and has not ended
            return lines
    raise AssertionError("the job never reached its extraction:\n" + "".join(lines)[-3000:])


def snapshot(client):
    """Everything a sync could change: runs, statuses, tags, params and every metric's history."""
    out = {}
    for role in ("sweep", "job"):
        for r in runs(client, role):
            history = {
                k: sorted((m.step, m.value, m.timestamp) for m in client.get_metric_history(r.info.run_id, k))
                for k in r.data.metrics
            }
            artifacts = sorted(a.path for a in client.list_artifacts(r.info.run_id))
            out[r.info.run_id] = (r.info.status, r.data.tags, r.data.params, history, artifacts)
    return out


@pytest.mark.slow
def test_sync_uploads_a_sweep_that_lost_its_server_once(tmp_path, capsys, server):
    server.up()
    client = MlflowClient(server.uri)
    args = [
        "-m",
        "preprocess=single",
        "latent=y,y_hat",
        *tiny_overrides(tmp_path),
        f"tracking.uri={server.uri}",
        "tracking.retry_s=0",
        f"hydra.sweep.dir={tmp_path}/sweep",
    ]
    job = start(tmp_path, args)
    try:
        lines = freeze_inside_the_run(job, client)
        parent_id = runs(client, "sweep")[0].info.run_id
    finally:
        server.stop()  # mid-way through job 0; job 1 starts with no server at all
        os.kill(job.pid, signal.SIGCONT)
    out = "".join(lines) + job.communicate(timeout=600)[0]
    assert job.returncode == 0, out[-3000:]
    assert "Traceback" not in out
    assert f"once the server is back run: python -m jpegai_fd.cli.sync {tmp_path}/sweep" in out.splitlines()[-1]
    summaries = [json.loads((tmp_path / "sweep" / str(n) / "results.json").read_text()) for n in (0, 1)]
    assert all(s["status"] == "finished" and s["tracking_error"] for s in summaries)
    assert summaries[1]["run_id"] is None  # never reached the server

    server.up()  # same store, same address
    (parent,) = runs(client, "sweep")
    assert parent.info.status == "RUNNING"  # what the server shows until the sync
    assert sync_main([f"{tmp_path}/sweep"]) == 0  # in-process: the command's exit codes and errors are below
    synced = capsys.readouterr().out
    assert synced.count("uploaded to run") == 2, synced
    children = runs(client, "job")
    assert len(children) == 2
    assert {r.info.status for r in children} == {"FINISHED"}
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent_id}
    by_latent = {r.data.params["latent"]: r for r in children}
    for n, latent in enumerate(("y", "y_hat")):
        run = by_latent[latent]
        assert run.data.metrics["test/accuracy"] == pytest.approx(summaries[n]["metrics"]["test/accuracy"])
        assert run.data.tags["latent"] == latent
        figures = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
        assert "figures/roc_curve.png" in figures
        trials = client.get_metric_history(run.info.run_id, "trial/value")
        assert len(trials) >= 1
    (parent,) = runs(client, "sweep")
    assert parent.info.status == "FINISHED" and parent.data.tags["jobs.finished"] == "2"

    before = snapshot(client)
    assert sync_main([f"{tmp_path}/sweep"]) == 0
    again = capsys.readouterr().out
    assert again.count("already synced") == 2 and "uploaded" not in again
    assert snapshot(client) == before


@pytest.mark.slow
def test_a_server_back_within_retry_s_is_retried_and_the_run_completes(tmp_path, server):
    server.up()
    client = MlflowClient(server.uri)
    args = [
        *tiny_overrides(tmp_path),
        f"tracking.uri={server.uri}",
        "tracking.experiment=retried",
        "tracking.retry_s=300",
        f"hydra.run.dir={tmp_path}/run",
    ]
    job = start(tmp_path, args)
    try:
        lines = freeze_inside_the_run(job, client, "retried")
        server.stop()
        os.kill(job.pid, signal.SIGCONT)
        for line in job.stdout:  # keep the server down until the job has really met it down
            lines.append(line)
            if "not answering" in line:
                break
        assert job.poll() is None, "".join(lines)[-3000:]
    finally:
        os.kill(job.pid, signal.SIGCONT)
        server.up()
    out = "".join(lines) + job.communicate(timeout=600)[0]
    assert job.returncode == 0, out[-3000:]
    summary = json.loads((tmp_path / "run" / "results.json").read_text())
    assert summary["tracking_error"] is None
    (run,) = runs(client, "job", "retried")
    assert run.info.run_id == summary["run_id"] and run.info.status == "FINISHED"
    assert run.data.metrics["test/accuracy"] == pytest.approx(summary["metrics"]["test/accuracy"])
    assert {a.path for a in client.list_artifacts(run.info.run_id, "figures")} >= {"figures/roc_curve.png"}
    assert "results stay in" not in out


def test_sync_refuses_a_folder_that_is_no_job_output(tmp_path):
    result = run_cli("jpegai_fd.cli.sync", [str(tmp_path)], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"jpegai_fd.cli.sync: error: {tmp_path} is not a jpegai_fd job or sweep output "
        "folder (no .hydra/ or .jpegai_fd/ in it)"
    )


def test_sync_names_an_unreachable_tracking_uri_in_one_line(tmp_path):
    (tmp_path / "job" / ".hydra").mkdir(parents=True)  # the shape of a job's output folder
    uri = f"http://127.0.0.1:{free_port()}"
    result = run_cli("jpegai_fd.cli.sync", [str(tmp_path / "job"), "--tracking-uri", uri], cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"jpegai_fd.cli.sync: error: cannot reach the MLflow tracking server at {uri}")
