"""The SLURM launcher against a real (one-node) SLURM cluster, through the real command line:
``hydra/launcher=slurm_debug`` submits each sweep as a job array with sbatch (submitit)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import datetime

import pytest
from mlflow.tracking import MlflowClient

from jfd_testing import run_cli, start_cli, tiny_overrides
from jpegai_fd.cli import slurm
from slurm_cluster import squeue
from test_tracking_interrupt import check_all_killed, runs, wait_for_running_jobs

SLURM = ["hydra/launcher=slurm_debug"]


def overrides(tmp_path, uri: str, sweep: str) -> list[str]:
    """A 2-job sweep (bpp 6 and 12) on tiny data in ``tmp_path``, tracked at ``uri``, in folder ``sweep``."""
    tiny = [o for o in tiny_overrides(tmp_path) if not o.startswith("tracking.uri=")]
    return ["-m", *tiny, "preprocess=single", "bpp=6,12", f"tracking.uri={uri}", f"hydra.sweep.dir={tmp_path}/{sweep}"]


def slurm_times(sweep_dir) -> list[tuple[float, float]]:
    """(SubmitTime, StartTime) of each task of the sweep's array, as slurmctld recorded them (1 s resolution)."""
    (array_id,) = {p.name.removesuffix("_submission.sh") for p in sweep_dir.glob(".submitit/*/*_submission.sh")}
    out = subprocess.run(["scontrol", "-o", "show", "job", array_id], capture_output=True, text=True, check=True)
    fields = [dict(f.split("=", 1) for f in line.split() if "=" in f) for line in out.stdout.splitlines()]
    stamp = lambda text: datetime.fromisoformat(text).timestamp()  # noqa: E731
    return [(stamp(f["SubmitTime"]), stamp(f["StartTime"])) for f in fields]


def timed_sweep(tmp_path, server, experiment: str, launcher: list[str]) -> dict:
    """Runs the 2-job sweep through ``launcher``; checks its runs; returns its timings (s) and metrics by bpp."""
    began = time.time()
    args = [*overrides(tmp_path, server.uri, experiment), *launcher, f"tracking.experiment={experiment}"]
    result = run_cli("jpegai_fd", args, cwd=tmp_path)
    ended = time.time()
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(server.uri)
    found = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    (parent,) = [r for r in found if r.data.tags["jpegai_fd.role"] == "sweep"]
    jobs = {r.data.tags["bpp"]: r for r in found if r.data.tags["jpegai_fd.role"] == "job"}
    assert sorted(jobs) == ["12", "6"] and parent.info.status == "FINISHED"
    assert {(r.info.status, r.data.tags["mlflow.parentRunId"]) for r in jobs.values()} == {
        ("FINISHED", parent.info.run_id)
    }
    assert {r.data.metrics["extract/images_extracted"] for r in jobs.values()} == {0}  # the cache only read
    starts = sorted(r.info.start_time / 1000 for r in jobs.values())
    return {
        "wall": ended - began,
        "command_to_parent": parent.info.start_time / 1000 - began,
        "parent_to_first_job_run": starts[0] - parent.info.start_time / 1000,
        "job_runs": sum(r.info.end_time - r.info.start_time for r in jobs.values()) / 1000,
        "last_job_run_end_to_exit": ended - max(r.info.end_time for r in jobs.values()) / 1000,
        "first_job_run": starts[0],
        "metrics": {b: {k: v for k, v in r.data.metrics.items() if not k.startswith("time/")} for b, r in jobs.items()},
    }


@pytest.mark.slow
def test_a_sweep_as_a_job_array_matches_the_basic_launcher(slurm_cluster, mlflow_server, experiment_name, tmp_path):
    """The cache filled by an array of extraction shards; then the same sweep on SLURM and with the basic
    launcher, one after the other: the same metrics. Prints the timings that README "Scaling out" quotes."""
    shards = [*SLURM, "extract.num_shards=2", "extract.shard=0,1"]  # 2 bpp x 2 shards: 4 array tasks
    extract = run_cli("jpegai_fd.extract", [*overrides(tmp_path, "sqlite:///x.db", "extract"), *shards], tmp_path)
    assert extract.returncode == 0, extract.stderr[-3000:]
    slurm = timed_sweep(tmp_path, mlflow_server, f"{experiment_name}_slurm", SLURM)
    basic = timed_sweep(tmp_path, mlflow_server, f"{experiment_name}_basic", [])
    assert slurm.pop("metrics") == basic.pop("metrics")
    times = slurm_times(tmp_path / f"{experiment_name}_slurm")
    slurm["submit_to_first_task_start"] = min(s for _, s in times) - min(s for s, _ in times)
    slurm["first_task_start_to_first_job_run"] = slurm["first_job_run"] - min(s for _, s in times)
    figures = {
        name: {k: round(v, 1) for k, v in t.items() if k != "first_job_run"}
        for name, t in (("slurm", slurm), ("basic", basic))
    }
    print("\nSLURM vs basic launcher, the same 2 jobs, seconds:", json.dumps(figures))


def start(tmp_path, uri: str, experiment: str, trials: int) -> subprocess.Popen:
    """The 2-job sweep on SLURM, its jobs tuning ``trials`` trials, in the background (its own session)."""
    args = [
        *overrides(tmp_path, uri, "sweep"),
        *SLURM,
        f"tuning.n_trials={trials}",
        f"tracking.experiment={experiment}",
    ]
    return start_cli(args, tmp_path)


@pytest.mark.slow
def test_ctrl_c_cancels_the_job_array_and_leaves_no_run_running(
    slurm_cluster, mlflow_server, experiment_name, tmp_path
):
    proc = start(tmp_path, mlflow_server.uri, experiment_name, 200)
    client = MlflowClient(mlflow_server.uri)
    wait_for_running_jobs(proc, client, experiment_name, 2)
    os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C: the SLURM jobs are not in its process group
    summaries = check_all_killed(proc, client, experiment_name, tmp_path, 2, third_party_noise=True)
    assert squeue() == []  # the array is gone, not left running on the cluster
    assert sorted(s["status"] for s in summaries) == ["killed", "killed"]


@pytest.mark.slow
def test_scancel_of_one_task_kills_its_run_and_resume_reruns_only_it(
    slurm_cluster, mlflow_server, experiment_name, tmp_path
):
    proc = start(tmp_path, mlflow_server.uri, experiment_name, 40)
    client = MlflowClient(mlflow_server.uri)
    wait_for_running_jobs(proc, client, experiment_name, 2)
    (task0,) = [line.split()[0] for line in squeue() if line.split()[0].endswith("_0")]  # job 0: bpp=6
    subprocess.run(["scancel", task0], check=True)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err[-3000:]
    assert "1 job(s) of the sweep were interrupted (SIGINT/SIGTERM)" in err
    first = {r.data.tags["bpp"]: r for r in runs(client, experiment_name, "job")}
    assert first["6"].info.status == "KILLED" and "interrupted by SIGTERM" in first["6"].data.tags["error"]
    assert first["12"].info.status == "FINISHED"

    again = [*overrides(tmp_path, mlflow_server.uri, "sweep2"), *SLURM, "tuning.n_trials=40"]
    result = run_cli("jpegai_fd", [*again, f"tracking.experiment={experiment_name}", "tracking.resume=true"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = runs(client, experiment_name, "job")
    assert sorted((r.data.tags["bpp"], r.info.status) for r in jobs) == [
        ("12", "FINISHED"),
        ("6", "FINISHED"),
        ("6", "KILLED"),
    ]
    (parent,) = runs(client, experiment_name, "sweep")
    assert parent.data.tags["jobs.skipped"] == "1" and parent.data.tags["jobs.finished"] == "1"


@pytest.mark.slow
def test_the_time_limit_warning_ends_the_runs_killed_with_the_reason(
    slurm_cluster, mlflow_server, experiment_name, tmp_path
):
    """SLURM sends SIGUSR2 ``signal_delay_s`` before a job's time limit (``--signal=USR2@120``); sent here
    at once with ``scancel --signal``: submitit does not requeue (``max_num_timeout: 0``) and raises an
    error, which must end the job wherever it lands (mid-trial, Optuna would only fail the trial)."""
    proc = start(tmp_path, mlflow_server.uri, experiment_name, 1500)
    client = MlflowClient(mlflow_server.uri)
    wait_for_running_jobs(proc, client, experiment_name, 2)
    (array_id,) = {line.split("_")[0] for line in squeue()}
    subprocess.run(["scancel", "--signal=USR2", array_id], check=True)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err[-3000:]
    assert "2 job(s) of the sweep were interrupted" in err
    jobs = runs(client, experiment_name, "job")
    assert [r.info.status for r in jobs] == ["KILLED", "KILLED"]
    reason = "interrupted by SIGUSR2: Job not requeued because: timed-out too many times."
    assert all(reason in r.data.tags["error"] for r in jobs), [r.data.tags["error"] for r in jobs]
    deadline = time.monotonic() + 30  # each task ends once its Python has exited, a moment after its result
    while squeue() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert squeue() == []


@pytest.mark.parametrize(
    ("job", "started_with", "restarts", "requeued"),
    [("7", None, 1, True), ("7", "1", 2, True), ("7", None, 0, False), ("7", "1", 1, False), (None, None, 5, False)],
)
def test_a_job_knows_it_was_requeued_when_its_restarts_pass_those_it_started_with(
    job, started_with, restarts, requeued, tmp_path, monkeypatch
):
    """``scontrol show job`` (a stand-in on PATH) against ``SLURM_RESTART_COUNT``; outside SLURM, never."""
    scontrol = tmp_path / "scontrol"
    scontrol.write_text(f"#!/bin/sh\necho 'JobId=7 JobName=x'\necho '   Requeue=1 Restarts={restarts} BatchFlag=1'\n")
    scontrol.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    for name, value in (("SLURM_JOB_ID", job), ("SLURM_RESTART_COUNT", started_with)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert slurm.requeued() is requeued


@pytest.mark.slow
@pytest.mark.parametrize("requeue", ["scontrol requeue", "scancel --signal=USR2"], ids=["scontrol", "submitit"])
def test_a_requeued_task_continues_its_run_from_the_cache(
    requeue, slurm_cluster, mlflow_server, experiment_name, tmp_path
):
    """A 1-job sweep whose task is requeued once its latents are cached (it is then tuning): by ``scontrol
    requeue`` (what preemption does), or by SLURM's warning signal long before the time limit, which submitit
    answers with ``scontrol requeue``. The sweep waits for the task's second attempt, which continues the
    same run, reads the latents from the cache, and ends with the metrics of an uninterrupted run."""
    one_job = [o.replace("bpp=6,12", "bpp=6") for o in overrides(tmp_path, mlflow_server.uri, "sweep")]
    one_job.append("tuning.n_trials=150")
    proc = start_cli(
        [*one_job, *SLURM, "hydra.launcher.timeout_min=60", f"tracking.experiment={experiment_name}"], tmp_path
    )
    client = MlflowClient(mlflow_server.uri)
    deadline = time.monotonic() + 300
    while not any("dataset.test_manifest" in r.data.tags for r in runs(client, experiment_name, "job")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    (task,) = [line.split()[0] for line in squeue()]
    subprocess.run([*requeue.split(), task], check=True)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]

    (run,) = runs(client, experiment_name, "job")  # one run, not one per attempt
    assert (run.info.status, run.data.tags["slurm.job_id"], run.data.tags.get("error")) == ("FINISHED", task, None)
    shown = subprocess.run(["scontrol", "show", "job", task], capture_output=True, text=True, check=True).stdout
    assert " Restarts=1 " in shown
    (job_log,) = (tmp_path / "sweep" / "0").glob("*.log")
    text = job_log.read_text()  # both attempts append to it
    assert "requeued by SLURM: its next attempt continues its run" in text
    assert f"SLURM started this job again: it continues run {run.info.run_id}" in text
    metrics = run.data.metrics
    assert (
        metrics["extract/images_extracted"] == 0 and metrics["extract/images_cached"] > 0
    )  # the first one cached them

    reference = [o.replace("/sweep", "/reference") for o in one_job]
    basic = run_cli("jpegai_fd", [*reference, f"tracking.experiment={experiment_name}_basic"], tmp_path)
    assert basic.returncode == 0, basic.stderr[-3000:]
    (uninterrupted,) = runs(client, f"{experiment_name}_basic", "job")
    same = lambda m: {k: v for k, v in m.items() if not k.startswith(("time/", "extract/"))}  # noqa: E731
    assert same(metrics) == same(uninterrupted.data.metrics)
