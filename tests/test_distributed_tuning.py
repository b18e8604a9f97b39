"""Several processes on one Optuna study: at least n_trials and at most n_trials + workers - 1 trials, each
evaluated once, one final best.

Workers are real processes; storages are a journal file and a private PostgreSQL cluster.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from jfd_testing import compose_cfg, job_inputs, tiny_overrides
from jpegai_fd.extract import extract_latents
from jpegai_fd.tuning.study import open_storage

# One worker: says it is ready, waits for the start file (so that the workers really overlap), then evaluates trials of
# the shared study; each evaluation appends "pid trial_number" to the ledger (O_APPEND lines are atomic).
WORKER = textwrap.dedent("""
    import os, sys, time
    import optuna
    from jpegai_fd.tuning.study import open_storage, run_trials, wait_for_running
    url, name, n, ledger, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    study = optuna.create_study(study_name=name, storage=open_storage(url), direction="maximize",
                                load_if_exists=True)
    open(f"{go}.ready.{os.getpid()}", "w").close()
    while not os.path.exists(go):
        time.sleep(0.01)
    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        with open(ledger, "a") as f:
            f.write(f"{os.getpid()} {trial.number}\\n")
        time.sleep(0.1)
        if trial.number % 5 == 4:
            raise optuna.TrialPruned()
        return -x * x
    done = run_trials(study, objective, n, None, seed=0)
    wait_for_running(study, None)
    print("EVALUATED", done, "BEST", study.best_trial.number)
""")


def run_workers(url: str, tmp_path: Path, n_trials: int, n_workers: int) -> list[str]:
    ledger, go = tmp_path / "ledger.txt", tmp_path / "go"
    # The study is created once up front, as a launcher would; workers only load it.
    optuna.create_study(study_name="shared", storage=open_storage(url), direction="maximize")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, "shared", str(n_trials), str(ledger), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n_workers)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.ready.*"))) < n_workers and time.monotonic() < deadline:
        time.sleep(0.05)  # start them together, however slowly each one imports
    go.touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        outs.append(out)
    return outs


def check_each_once(url: str, tmp_path: Path, outs: list[str], n_trials: int, n_workers: int) -> None:
    evaluations = [tuple(map(int, line.split())) for line in (tmp_path / "ledger.txt").read_text().splitlines()]
    per_trial = Counter(number for _, number in evaluations)
    # MaxTrialsCallback stops a worker after its trial: each other worker may have started one more.
    total = len(per_trial)
    assert n_trials <= total <= n_trials + n_workers - 1, f"{total} trials for n_trials={n_trials}"
    assert sorted(per_trial) == list(range(total)), "a trial was lost"
    assert set(per_trial.values()) == {1}, f"trials evaluated twice: {[k for k, v in per_trial.items() if v > 1]}"
    assert len({pid for pid, _ in evaluations}) == n_workers, "every worker should have taken trials"
    evaluated = [int(re.search(r"EVALUATED (\d+)", o).group(1)) for o in outs]
    assert sum(evaluated) == total
    study = optuna.load_study(study_name="shared", storage=open_storage(url))
    assert Counter(t.state for t in study.trials) == {
        optuna.trial.TrialState.COMPLETE: total - (total + 1) // 5,
        optuna.trial.TrialState.PRUNED: (total + 1) // 5,
    }
    # Every worker waited for the others and saw the same, final best trial.
    assert {re.search(r"BEST (\d+)", o).group(1) for o in outs} == {str(study.best_trial.number)}


@pytest.mark.slow
def test_workers_share_one_journal_file_study(tmp_path):
    url = f"journal://{tmp_path}/optuna.log"
    outs = run_workers(url, tmp_path, n_trials=20, n_workers=3)
    check_each_once(url, tmp_path, outs, 20, 3)


@pytest.mark.slow
def test_workers_share_one_postgresql_study(tmp_path, postgres):
    outs = run_workers(postgres, tmp_path, n_trials=20, n_workers=3)
    check_each_once(postgres, tmp_path, outs, 20, 3)


@pytest.mark.slow
def test_two_jobs_tune_one_postgresql_study_and_refit_its_best(tmp_path, postgres):
    """The real command line, twice at once, on one study: n_trials (one more at most) in total, the same
    best for both."""
    n_trials = 8
    base = [o for o in tiny_overrides(tmp_path) if not o.startswith("tuning.n_trials")]
    base += [f"tuning.n_trials={n_trials}", f"tuning.storage={postgres}", "tuning.study_name=team", "preprocess=single"]
    # Extract once first (the documented order, in-process here), so that the workers only read the cache.
    extract_latents(*job_inputs(compose_cfg(base)))
    procs = []
    for w in range(2):
        args = [*base, f"tracking.uri=sqlite:///{tmp_path}/mlflow{w}.db", f"hydra.run.dir={tmp_path}/w{w}"]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "jpegai_fd", *args],
                cwd=tmp_path,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    logs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        logs.append(out + err)
    study = optuna.load_study(study_name="team", storage=open_storage(postgres))
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == len(study.trials) and n_trials <= len(finished) <= n_trials + 1
    assert sorted(t.number for t in finished) == list(range(len(finished)))
    # Each process logs how many trials it evaluated: together every trial of the study, none twice.
    evaluated = [sum(int(n) for n in re.findall(r"optuna: (\d+) trials in", log)) for log in logs]
    assert sum(evaluated) == len(finished), logs
    assert {t.user_attrs["worker"] for t in finished} <= {f"{w}" for w in _workers(procs)}
    results = [json.loads((tmp_path / f"w{w}" / "results.json").read_text()) for w in range(2)]
    assert results[0]["best_params"] == results[1]["best_params"] == study.best_params


def _workers(procs) -> list[str]:
    import socket

    return [f"{socket.gethostname()}:{p.pid}" for p in procs]


@pytest.mark.slow
def test_three_slurm_jobs_tune_one_postgresql_study(slurm_cluster, tmp_path, postgres, mlflow_server, experiment_name):
    """The job command as 3 tasks of one SLURM array (the README's workers, submitted with sbatch): the
    study's trials evaluated once in all, the same final model in the 3 runs."""
    n_trials = 8
    base = [o for o in tiny_overrides(tmp_path) if not o.startswith(("tuning.n_trials", "tracking.uri"))]
    base += [f"tuning.n_trials={n_trials}", f"tuning.storage={postgres}", "tuning.study_name=team", "preprocess=single"]
    extract_latents(*job_inputs(compose_cfg(base)))  # in-process: the workers only read the cache
    tracking = [f"tracking.uri={mlflow_server.uri}", f"tracking.experiment={experiment_name}"]
    job = shlex.join([sys.executable, "-m", "jpegai_fd", *base, *tracking])
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    sbatch = ["sbatch", "--wait", "--array=0-2", "--cpus-per-task=1", "--partition=debug", "--time=10"]
    sbatch += [f"--output={tmp_path}/w%a.log", f"--wrap={job} hydra.run.dir={tmp_path}/w$SLURM_ARRAY_TASK_ID"]
    submitted = subprocess.run(sbatch, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    logs = [(tmp_path / f"w{w}.log").read_text() for w in range(3)]
    assert submitted.returncode == 0, submitted.stderr + "".join(log[-2000:] for log in logs)
    study = optuna.load_study(study_name="team", storage=open_storage(postgres))
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == len(study.trials) and n_trials <= len(finished) <= n_trials + 2
    evaluated = [sum(int(n) for n in re.findall(r"optuna: (\d+) trials in", log)) for log in logs]
    # Each trial evaluated by exactly one worker. How many each got depends on when SLURM started it (in a
    # fresh-clone CI run one worker started after the other two had claimed every trial), so not asserted.
    assert sum(evaluated) == len(finished), logs
    results = [json.loads((tmp_path / f"w{w}" / "results.json").read_text()) for w in range(3)]
    assert all(r["status"] == "finished" and r["best_params"] == study.best_params for r in results)
    runs = MlflowClient(mlflow_server.uri).search_runs(
        [MlflowClient(mlflow_server.uri).get_experiment_by_name(experiment_name).experiment_id]
    )
    assert sorted(r.info.status for r in runs) == ["FINISHED"] * 3
