"""One Optuna study worked on by several processes (one machine or many): exactly ``n_trials`` trials.

``tuning.n_trials`` is the study's total, not a per-process count. Each process runs
``study.optimize`` (which keeps the heartbeats, fails stale trials, catches, times out and calls
back) with ``MaxTrialsCallback``, which stops it once the study holds ``n_trials`` finished or
running trials. That check comes after a trial, so alone it overshoots by up to one trial per extra
worker; the exact part is ``_Gate``, the study's sampler meanwhile: when ``study.ask()`` creates a
trial (the storage numbers trials 0, 1, 2... atomically), the gate admits it only if fewer than
``n_trials`` trials numbered below it are finished or running. Otherwise this worker lost the race
for the last slot: the trial goes back as WAITING (a later, larger ``n_trials`` picks it up; the
one call past Optuna's user API, in optuna_adapter.py) and the worker stops. So every claimed trial
is evaluated once by one process and no worker overshoots, whatever the timing.

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
from collections.abc import Callable

import optuna
import sqlalchemy.exc
from optuna.samplers import BaseSampler
from optuna.storages import BaseStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial, TrialState

from jpegai_fd.tuning.optuna_adapter import hand_back

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
        return JournalStorage(JournalFileBackend(url[len(JOURNAL) :]))
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


class LostRace(Exception):
    """Raised out of ``study.ask()`` (so out of ``study.optimize``, before any heartbeat or tell) by
    ``_Gate`` for a trial beyond ``n_trials``; it has been handed back by then."""


class _Gate(BaseSampler):
    """The study's sampler while ``run_trials`` runs: admits a new trial only while the study has
    room (see the module docstring), then samples it with ``make_sampler(trial.number)``, so that
    workers started with the same seed do not draw the same points and one process stays
    reproducible."""

    def __init__(self, study: optuna.Study, n_trials: int, make_sampler: Callable[[int], BaseSampler]) -> None:
        self._study, self._n_trials, self._make_sampler = study, n_trials, make_sampler
        self._inner = study.sampler

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        # Called by study.ask() right after it created (or took from the queue) the trial.
        if claimed(self._study, below=trial.number) >= self._n_trials:
            hand_back(self._study, trial)
            raise LostRace(trial.number)
        self._inner = self._make_sampler(trial.number)
        self._inner.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self._inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values):
        self._inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._inner.reseed_rng()


def run_trials(
    study: optuna.Study,
    objective: Callable,
    n_trials: int,
    timeout: float | None,
    catch: tuple,
    make_sampler: Callable[[int], BaseSampler],
    on_trial: Callable[[], None] = lambda: None,
) -> int:
    """Evaluate trials until ``study`` holds ``n_trials`` finished-or-running trials, or ``timeout``
    seconds pass; returns how many this process evaluated.

    ``catch``: exceptions that fail the trial and go on; ``make_sampler(trial_number)``: each trial's
    sampler (see ``_Gate``); ``on_trial()`` is called after each trial this process evaluated.
    """
    if claimed(study) >= n_trials:
        return 0
    done = 0

    def evaluate(trial: optuna.Trial):
        trial.set_user_attr("worker", WORKER)  # host:pid that evaluated it, kept in the study
        try:
            return objective(trial)
        except catch as exc:
            # One line of our own instead of Optuna's traceback; NaN makes Optuna record the trial FAIL.
            log.warning("trial %d failed: %s: %s", trial.number, type(exc).__name__, exc)
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            return float("nan")

    def count(_study: optuna.Study, _trial: FrozenTrial) -> None:
        nonlocal done
        done += 1
        on_trial()

    sampler = study.sampler
    study.sampler = _Gate(study, n_trials, make_sampler)
    try:
        # The count comes after the stop check: a test makes another "worker" take a slot in on_trial.
        study.optimize(
            evaluate, timeout=timeout, catch=catch, callbacks=[MaxTrialsCallback(n_trials, states=CLAIMED), count]
        )
    except LostRace as lost:
        log.info("optuna: trial %s not needed (the study has its %d trials); handed back", lost, n_trials)
    finally:
        study.sampler = sampler
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
