"""Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM (as SLURM and `kill`
send it) while a multirun's jobs are in flight: every run ends KILLED, the parent too, and the command
ends with one line and exit code 130. Real processes: the command line, its launcher's workers and an
``mlflow server``."""

from __future__ import annotations

import json
import os
import signal
import time

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

import jpegai_fd
from jfd_testing import start_cli, tiny_overrides

# A frame of the package's own code (not a path that merely contains the clone's name, e.g. its venv's).
OUR_FRAME = f'File "{Path(jpegai_fd.__file__).parent}/'
INTERRUPTED = "jpegai_fd: interrupted; runs marked KILLED; rerun with tracking.resume=true to continue"


def runs(client, experiment, role):
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id], f"tags.`jpegai_fd.role` = '{role}'", max_results=100)


def start_sweep(tmp_path, server, experiment, launcher_args):
    """A 2-job multirun whose jobs tune long enough (200 trials) to be interrupted mid-way."""
    args = [
        "-m",
        *launcher_args,
        "preprocess=single",
        "latent=y,y_hat",
        *tiny_overrides(tmp_path),
        "tuning.n_trials=200",
        f"tracking.uri={server.uri}",
        f"tracking.experiment={experiment}",
        f"hydra.sweep.dir={tmp_path}/sweep",
    ]
    return start_cli(args, tmp_path)


def wait_for_running_jobs(proc, client, experiment, count, timeout=300):
    """Wait until ``count`` job runs are RUNNING (jobs in flight); fails if the command ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        if sum(r.info.status == "RUNNING" for r in runs(client, experiment, "job")) >= count:
            return
        time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"{count} job run(s) never RUNNING at once")


def check_all_killed(proc, client, experiment, tmp_path, jobs_in_flight, third_party_noise=False):
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 130, err[-3000:]
    if third_party_noise:  # submitit's local controller, a process of its own, prints its own traceback
        assert err.strip().splitlines()[-1] == INTERRUPTED, err[-3000:]
        assert not [line for line in (out + err).splitlines() if line.strip().startswith(OUR_FRAME)]
    else:
        assert err.strip().splitlines() == [INTERRUPTED], err[-3000:]
        assert "Traceback" not in out + err
    children = runs(client, experiment, "job")
    assert len(children) >= jobs_in_flight
    assert {r.info.status for r in children} == {"KILLED"}
    assert all("interrupted by SIG" in r.data.tags["error"] for r in children)
    (parent,) = runs(client, experiment, "sweep")
    assert parent.info.status == "KILLED"
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    return [json.loads(p.read_text()) for p in (tmp_path / "sweep").glob("*/results.json")]


@pytest.mark.slow
@pytest.mark.parametrize(
    "launcher",
    [
        ["hydra/launcher=local_parallel", "hydra.launcher.n_jobs=2"],
        ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"],
    ],
    ids=["joblib", "submitit_local"],
)
def test_ctrl_c_under_a_parallel_launcher_kills_in_flight_runs_and_the_parent(
    mlflow_server, experiment_name, tmp_path, launcher
):
    proc = start_sweep(tmp_path, mlflow_server, experiment_name, launcher)
    client = MlflowClient(mlflow_server.uri)
    wait_for_running_jobs(proc, client, experiment_name, 2)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the launcher and its workers get it
    summaries = check_all_killed(proc, client, experiment_name, tmp_path, 2, "submitit" in launcher[0])
    assert all(s["status"] == "killed" for s in summaries)


@pytest.mark.slow
def test_sigterm_to_the_launching_process_alone_kills_the_runs(mlflow_server, experiment_name, tmp_path):
    """`kill PID` of the launching process: its loky workers get no signal from the user, yet no run
    stays RUNNING."""
    proc = start_sweep(
        tmp_path, mlflow_server, experiment_name, ["hydra/launcher=local_parallel", "hydra.launcher.n_jobs=2"]
    )
    client = MlflowClient(mlflow_server.uri)
    wait_for_running_jobs(proc, client, experiment_name, 2)
    proc.send_signal(signal.SIGTERM)
    check_all_killed(proc, client, experiment_name, tmp_path, 2)


@pytest.mark.slow
def test_ctrl_c_under_the_basic_launcher_kills_the_run_and_the_parent(mlflow_server, experiment_name, tmp_path):
    proc = start_sweep(tmp_path, mlflow_server, experiment_name, [])
    client = MlflowClient(mlflow_server.uri)
    wait_for_running_jobs(proc, client, experiment_name, 1)
    os.killpg(proc.pid, signal.SIGINT)
    summaries = check_all_killed(proc, client, experiment_name, tmp_path, 1)
    assert [s["status"] for s in summaries] == ["killed"]  # the second job never started
    assert len(runs(client, experiment_name, "job")) == 1
