"""One Optuna study worked on by several processes (one machine or many): exactly ``n_trials`` trials.

``tuning.n_trials`` is the study's total, not a per-process count. A process claims a trial with
``study.ask()`` (the storage numbers trials 0, 1, 2... atomically) and evaluates it only if fewer than
``n_trials`` trials numbered below it are finished or running; otherwise it lost the race for the
last slot, hands the trial back as WAITING (a later, larger ``n_trials`` picks it up) and stops. So
every claimed trial is evaluated once by one process and no worker overshoots, whatever the timing.

Storage URLs: ``sqlite:///optuna.db`` or ``postgresql+psycopg2://...`` (RDB, with heartbeats: the
running trial of a dead worker is failed after a grace period, so the others never wait on it) and
``journal:///shared/fs/optuna.log`` (Optuna's JournalStorage in one append-only file, for a shared
filesystem without a database server; it has no heartbeat).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from typing import Callable

import optuna
import sqlalchemy.exc
from optuna.storages import BaseStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState

log = logging.getLogger(__name__)
CLAIMED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
JOURNAL = "journal://"
WORKER = f"{socket.gethostname()}:{os.getpid()}"
SCHEMA_RACE_RETRIES = 5


def open_storage(url: str | None, heartbeat_s: int = 60) -> BaseStorage | str | None:
    """The Optuna storage for ``tuning.storage``: None (in memory), an RDB URL, or ``journal://PATH``."""
    if url is None:
        return None
    if url.startswith(JOURNAL):
        return JournalStorage(JournalFileBackend(url[len(JOURNAL):]))
    # Workers that start together on an empty database race to create Optuna's tables: the losers
    # see a duplicate-object error from the database and, a moment later, the finished schema.
    for attempt in range(SCHEMA_RACE_RETRIES + 1):
        try:
            with warnings.catch_warnings():  # heartbeat_interval is flagged experimental since Optuna 2.9
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(url, heartbeat_interval=heartbeat_s, grace_period=3 * heartbeat_s)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == SCHEMA_RACE_RETRIES:
                raise
            time.sleep(0.5 * (attempt + 1))


def claimed(study: optuna.Study, below: int | None = None) -> int:
    """Trials finished or running (numbered below ``below``, if given)."""
    trials = study.get_trials(deepcopy=False, states=CLAIMED)
    return sum(1 for t in trials if below is None or t.number < below)


def _fail_stale(study: optuna.Study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # no-op for storages without heartbeat


def _evaluate(study: optuna.Study, trial: optuna.Trial, objective: Callable, catch: tuple) -> None:
    # Private helper, but the one study.optimize uses: it records this trial's heartbeat meanwhile.
    from optuna.storages._heartbeat import get_heartbeat_thread

    with get_heartbeat_thread(trial._trial_id, study._storage):
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
            return
        except catch as exc:
            log.warning("trial %d failed: %s: %s", trial.number, type(exc).__name__, exc)
            study.tell(trial, state=TrialState.FAIL)
            return
        except BaseException:
            study.tell(trial, state=TrialState.FAIL)
            raise
    study.tell(trial, value)


def hand_back(study: optuna.Study, trial: optuna.Trial) -> None:
    """Return a claimed, not yet evaluated trial to the study as WAITING: it is not counted, and the
    next ``study.ask()`` (of a later run with a larger ``n_trials``) takes it instead of a new one."""
    study._storage.set_trial_state_values(trial._trial_id, TrialState.WAITING)


def run_trials(study: optuna.Study, objective: Callable, n_trials: int, timeout: float | None,
               catch: tuple, make_sampler: Callable[[int], optuna.samplers.BaseSampler],
               on_trial: Callable[[], None] = lambda: None) -> int:
    """Evaluate trials until ``study`` holds ``n_trials`` finished-or-running trials, or ``timeout``
    seconds pass; returns how many this process evaluated.

    ``make_sampler(trial_number)``: each trial gets a sampler seeded by its number, so that workers
    started with the same seed do not draw the same points (and one process stays reproducible).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    done = 0
    while deadline is None or time.monotonic() < deadline:
        _fail_stale(study)
        if claimed(study) >= n_trials:
            break
        with warnings.catch_warnings():  # "heartbeat ... with Study.optimize": _evaluate keeps the heartbeat
            warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
            trial = study.ask()
        if claimed(study, below=trial.number) >= n_trials:
            # Another worker took the last slot between the count and the ask.
            hand_back(study, trial)
            log.info("optuna: trial %d not needed (the study has its %d trials); handed back", trial.number, n_trials)
            break
        study.sampler = make_sampler(trial.number)
        trial.set_user_attr("worker", WORKER)  # host:pid that evaluated it, kept in the study
        _evaluate(study, trial, objective, catch)
        done += 1
        on_trial()
    return done


def wait_for_running(study: optuna.Study, timeout: float | None, poll_s: float = 1.0) -> None:
    """Block until no trial of ``study`` is running (other workers' trials), so that the best trial
    read next is the study's final best. Stale trials of dead workers are failed on the way."""
    deadline = None if timeout is None else time.monotonic() + timeout
    last_log = time.monotonic()
    while True:
        _fail_stale(study)
        running = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
        if not running or (deadline is not None and time.monotonic() >= deadline):
            return
        if time.monotonic() - last_log >= 60:
            last_log = time.monotonic()
            log.info("optuna: waiting for trials %s of other workers to finish", running)
        time.sleep(poll_s)
