"""Several processes on one Optuna study: exactly n_trials trials, each evaluated once, one final best.

Workers are real processes; storages are a journal file and a private PostgreSQL cluster.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
import warnings
from collections import Counter
from pathlib import Path

import optuna
import pytest

from jfd_testing import run_cli, tiny_overrides
from jpegai_fd.tuning.shared import claimed, hand_back, open_storage, run_trials

# One worker: says it is ready, waits for the start file (so that the workers really overlap), then evaluates trials of
# the shared study; each evaluation appends "pid trial_number" to the ledger (O_APPEND lines are atomic).
WORKER = textwrap.dedent("""
    import os, sys, time
    import optuna
    from jpegai_fd.tuning.shared import open_storage, run_trials, wait_for_running
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
    done = run_trials(study, objective, n, None, (ValueError,), lambda k: optuna.samplers.TPESampler(seed=k))
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


def check_exactly_once(url: str, tmp_path: Path, outs: list[str], n_trials: int, n_workers: int) -> None:
    evaluations = [tuple(map(int, line.split())) for line in (tmp_path / "ledger.txt").read_text().splitlines()]
    per_trial = Counter(number for _, number in evaluations)
    assert sorted(per_trial) == list(range(n_trials)), "a trial was lost or one beyond n_trials ran"
    assert set(per_trial.values()) == {1}, f"trials evaluated twice: {[k for k, v in per_trial.items() if v > 1]}"
    assert len({pid for pid, _ in evaluations}) == n_workers, "every worker should have taken trials"
    evaluated = [int(re.search(r"EVALUATED (\d+)", o).group(1)) for o in outs]
    assert sum(evaluated) == n_trials
    study = optuna.load_study(study_name="shared", storage=open_storage(url))
    states = Counter(t.state for t in study.trials if t.number < n_trials)
    assert states == {
        optuna.trial.TrialState.COMPLETE: n_trials - n_trials // 5,
        optuna.trial.TrialState.PRUNED: n_trials // 5,
    }
    # A worker that lost the race for the last slot hands its trial back (WAITING), never runs it.
    extra = [t for t in study.trials if t.number >= n_trials]
    assert len(extra) <= n_workers - 1 and all(t.state == optuna.trial.TrialState.WAITING for t in extra)
    # Every worker waited for the others and saw the same, final best trial.
    assert {re.search(r"BEST (\d+)", o).group(1) for o in outs} == {str(study.best_trial.number)}


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_a_handed_back_trial_is_not_counted_and_is_reused(tmp_path, kind):
    """What a worker that lost the race for the last slot leaves behind: a WAITING trial, taken by the
    next run instead of a new one, so that the study still numbers its evaluated trials 0..n-1."""
    url = f"journal://{tmp_path}/optuna.log" if kind == "journal" else f"sqlite:///{tmp_path}/optuna.db"
    study = optuna.create_study(study_name="s", storage=open_storage(url), direction="maximize")
    with warnings.catch_warnings():  # sqlite has heartbeats, which Optuna expects with study.optimize
        warnings.simplefilter("ignore", UserWarning)
        hand_back(study, study.ask())
    assert claimed(study) == 0 and study.trials[0].state == optuna.trial.TrialState.WAITING
    done = run_trials(
        study, lambda t: t.suggest_float("x", 0, 1), 2, None, (), lambda k: optuna.samplers.TPESampler(seed=k)
    )
    assert done == 2
    assert [(t.number, t.state) for t in study.trials] == [
        (0, optuna.trial.TrialState.COMPLETE),
        (1, optuna.trial.TrialState.COMPLETE),
    ]


@pytest.mark.slow
def test_workers_share_one_journal_file_study(tmp_path):
    url = f"journal://{tmp_path}/optuna.log"
    outs = run_workers(url, tmp_path, n_trials=20, n_workers=3)
    check_exactly_once(url, tmp_path, outs, 20, 3)


@pytest.mark.slow
def test_workers_share_one_postgresql_study(tmp_path, postgres):
    outs = run_workers(postgres, tmp_path, n_trials=20, n_workers=3)
    check_exactly_once(postgres, tmp_path, outs, 20, 3)


@pytest.mark.slow
def test_two_jobs_tune_one_postgresql_study_and_refit_its_best(tmp_path, postgres):
    """The real command line, twice at once, on one study: n_trials in total, the same best for both."""
    n_trials = 8
    base = [o for o in tiny_overrides(tmp_path) if not o.startswith("tuning.n_trials")]
    base += [f"tuning.n_trials={n_trials}", f"tuning.storage={postgres}", "tuning.study_name=team", "preprocess=single"]
    # Extract once first (the documented order), so that the workers only read the cache.
    done = run_cli("jpegai_fd.extract", [*base, f"hydra.run.dir={tmp_path}/extract"], cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
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
    assert sorted(t.number for t in finished) == list(range(n_trials))
    assert all(
        t.number >= n_trials and t.state == optuna.trial.TrialState.WAITING
        for t in study.trials
        if not t.state.is_finished()
    )
    # Each process logs how many trials it evaluated: together exactly n_trials, none twice.
    evaluated = [sum(int(n) for n in re.findall(r"optuna: (\d+) trials in", log)) for log in logs]
    assert sum(evaluated) == n_trials, logs
    assert {t.user_attrs["worker"] for t in finished} <= {f"{w}" for w in _workers(procs)}
    results = [json.loads((tmp_path / f"w{w}" / "results.json").read_text()) for w in range(2)]
    assert results[0]["best_params"] == results[1]["best_params"] == study.best_params


def _workers(procs) -> list[str]:
    import socket

    return [f"{socket.gethostname()}:{p.pid}" for p in procs]
