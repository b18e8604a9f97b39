"""Hyperparameter search with Optuna inside the job: TPE, grouped k-fold CV, pruning after folds; ``tuning.n_trials``
is the study's total, shared by its workers (docs/how-to/team-server.md)."""

import logging
import os
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
import sqlalchemy.exc
from optuna.storages import BaseStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState
from sklearn.model_selection import StratifiedGroupKFold
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_incrementing

from jpegai_fd.classifiers import Classifier
from jpegai_fd.classifiers.backend import image_labels
from jpegai_fd.errors import UserError
from jpegai_fd.features.matrix import FeatureSet
from jpegai_fd.progress import progress
from jpegai_fd.tuning.settings import TuningSettings

log = logging.getLogger(__name__)
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
JOURNAL = "journal://"
WORKER = f"{socket.gethostname()}:{os.getpid()}"
QUIET = {"action": "ignore", "category": optuna.exceptions.ExperimentalWarning}
CATCH = (ValueError, ArithmeticError)  # a trial that raises one of these fails; the search goes on


@dataclass
class TuningResult:
    """Best parameters and mean CV score, every trial; ``untuned``: why no search ran, else None."""

    best_params: dict
    best_score: float
    trials: pd.DataFrame
    untuned: str | None = None


# Workers that start together on an empty database race to create Optuna's tables: the losers see a
# duplicate-object error from the database and, a moment later, the finished schema.
RACED = retry_if_exception_type((sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError))


@retry(retry=RACED, stop=stop_after_attempt(6), wait=wait_incrementing(0.5, 0.5), reraise=True)
def open_storage(url: str | None, heartbeat_s: int = 60) -> BaseStorage | None:
    """The Optuna storage for ``tuning.storage``: None (in memory), an RDB URL, or ``journal://PATH``."""
    if url is None:
        return None
    if url.startswith(JOURNAL):
        return JournalStorage(JournalFileBackend(url[len(JOURNAL) :]))
    with warnings.catch_warnings(**QUIET):  # heartbeat_interval is flagged experimental since Optuna 2.9
        return RDBStorage(url, heartbeat_interval=heartbeat_s, grace_period=3 * heartbeat_s)


def counted(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=COUNTED))


def sampler(seed: int) -> optuna.samplers.TPESampler:
    # constant_liar: parallel workers see each other's running trials and sample away from them.
    with warnings.catch_warnings(**QUIET):
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def run_trials(
    study: optuna.Study, objective: Callable, n_trials: int, timeout: float | None, seed: int, on_trial=None
) -> int:
    """Evaluate trials until ``study`` holds ``n_trials`` or ``timeout`` passes; returns how many ran here.
    Trial k samples with seed ``seed + k``: workers draw different points, reproducibly."""
    if (missing := n_trials - counted(study)) <= 0:
        return 0
    ran: list[int] = []

    def evaluate(trial: optuna.Trial):
        ran.append(trial.number)
        trial.study.sampler = sampler(seed + trial.number)  # suggest_* draws from the study's sampler
        trial.set_user_attr("worker", WORKER)  # host:pid that evaluated it, kept in the study
        try:
            return objective(trial)
        except CATCH as exc:
            # One line of our own instead of Optuna's traceback; NaN makes Optuna record the trial FAIL.
            log.warning("trial %d failed: %s: %s", trial.number, type(exc).__name__, exc)
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            return float("nan")

    callbacks = [MaxTrialsCallback(n_trials, states=COUNTED)] + ([lambda *_: on_trial()] if on_trial else [])
    study.optimize(evaluate, n_trials=missing, timeout=timeout, callbacks=callbacks)
    return len(ran)


def wait_for_running(study: optuna.Study, timeout: float | None, poll_s: float = 1.0) -> None:
    """Block until no trial of ``study`` runs (failing stale ones): Optuna cannot wait for other processes."""
    deadline, last_log = None if timeout is None else time.monotonic() + timeout, time.monotonic()
    while True:
        with warnings.catch_warnings(**QUIET):
            optuna.storages.fail_stale_trials(study)  # no-op for storages without heartbeat
        running = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
        if not running or (deadline is not None and time.monotonic() >= deadline):
            return
        if time.monotonic() - last_log >= 60:
            last_log = time.monotonic()
            log.info("optuna: waiting for trials %s of other workers to finish", running)
        time.sleep(poll_s)


def suggest_params(trial: optuna.Trial, space: dict) -> dict:
    """One value per ``{type: int|float, low, high, log}`` or ``{type: categorical, choices}`` entry."""
    params = {}
    for name, spec in space.items():
        if spec["type"] == "categorical":
            params[name] = trial.suggest_categorical(name, list(spec["choices"]))
        else:
            cast, suggest = (int, trial.suggest_int) if spec["type"] == "int" else (float, trial.suggest_float)
            params[name] = suggest(name, cast(spec["low"]), cast(spec["high"]), log=bool(spec.get("log", False)))
    return params


def grouped_folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (fit_index, score_index) pairs, stratified by label; an image's patches share a fold."""
    per_class = np.bincount(image_labels(y, groups), minlength=2)
    if per_class.min() < k:
        raise UserError(
            f"tuning.cv_folds={k} needs at least {k} training images of each class, "
            f"found {per_class.min()}; lower tuning.cv_folds or use more images"
        )
    return list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y, groups))


# The first trial of a fresh search is the fixed parameters, so the best CV score is never below theirs
# (README demo: 5 random trials scored 0.57 where the fixed parameters scored 0.72).
def _in_space(value, spec):
    """``value`` as the space would propose it, or None; a fixed ``None`` (no limit) becomes the top."""
    if spec["type"] == "categorical":
        return value if value in list(spec["choices"]) else None
    cast = int if spec["type"] == "int" else float
    if value is None:
        return cast(spec["high"])
    if isinstance(value, bool) or not isinstance(value, (int, float)) or cast(value) != value:
        return None
    return cast(value) if cast(spec["low"]) <= value <= cast(spec["high"]) else None


def fixed_start(classifier) -> dict:
    """Search-space parameters at the fixed estimator's values; those the space cannot express are left out."""
    fixed = classifier.make().get_params()
    start = {name: _in_space(fixed[name], spec) for name, spec in classifier.search_space.items() if name in fixed}
    return {name: value for name, value in start.items() if value is not None}


def _objective(classifier: Classifier, features: FeatureSet, folds, scoring: str):
    score_fold = classifier.fold_scorer(features, scoring)  # default: refit per fold; see classifiers/backend.py

    def objective(trial: optuna.Trial) -> float:
        params = suggest_params(trial, classifier.search_space)
        scores = []
        for i, (fit_idx, val_idx) in enumerate(folds):
            scores.append(score_fold(params, fit_idx, val_idx))
            trial.set_user_attr("fold_scores", [float(s) for s in scores])
            trial.report(float(np.mean(scores)), step=i)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    return objective


def no_trial_completed(study: optuna.Study, timeout: float | None) -> UserError:
    states = pd.Series([t.state.name for t in study.trials]).value_counts().to_dict()
    errors = [t.user_attrs["error"] for t in study.trials if t.user_attrs.get("error")]
    why = f"tuning.timeout={timeout}s passed first" if timeout is not None else "no error recorded"
    why = f"first error: {errors[0]}" if errors else why
    return UserError(
        f"no trial of the search completed ({', '.join(f'{n} {s}' for s, n in states.items()) or 'none ran'}; "
        f"{why}); check classifier.estimator and classifier.search_space, or set tuning.n_trials=0 "
        f"to train with the fixed parameters"
    )


def tune(
    classifier: Classifier, features: FeatureSet, tuning: TuningSettings, seed: int, study_name: str
) -> TuningResult:
    """Search ``classifier.search_space`` with grouped CV; a stored study resumes with its missing trials."""
    if tuning.n_trials == 0 or not classifier.search_space:
        why = "tuning.n_trials=0" if tuning.n_trials == 0 else "classifier.search_space is empty"
        return TuningResult({}, float("nan"), pd.DataFrame(), untuned=why)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our log says why a trial failed, in one line
    pruner = optuna.pruners.MedianPruner(tuning.pruner.n_startup_trials, tuning.pruner.n_warmup_steps)
    storage = open_storage(tuning.storage, tuning.heartbeat_s)
    kwargs = {"direction": "maximize", "sampler": sampler(seed), "pruner": pruner, "load_if_exists": True}
    study = optuna.create_study(study_name=study_name, storage=storage, **kwargs)
    if not study.get_trials(deepcopy=False):  # trial 0 = the fixed parameters: tuning never ends below them in CV
        study.enqueue_trial(fixed_start(classifier), skip_if_exists=True)
    if already := counted(study):
        log.info("optuna study '%s': %d trials already done or running", study_name, already)
    folds = grouped_folds(features.y, features.groups, tuning.cv_folds, seed)
    bar = progress(f"tune {classifier.name}", max(tuning.n_trials - already, 0), "trials", log, every_s=0)
    start = time.perf_counter()
    objective = _objective(classifier, features, folds, tuning.scoring)
    done = run_trials(study, objective, tuning.n_trials, tuning.timeout, seed, bar.update)
    bar.close()  # a timeout or the other workers end the search early
    wait_for_running(study, tuning.timeout)  # other workers' last trials, so the best is the study's final best
    if not any(t.state == TrialState.COMPLETE for t in study.trials):
        raise no_trial_completed(study, tuning.timeout)  # the job ends FAILED, never FINISHED with a nan score
    best = (tuning.scoring, study.best_value, study.best_params)
    log.info("optuna: %d trials in %.1fs, best %s=%.4f with %s", done, time.perf_counter() - start, *best)
    trials = study.trials_dataframe(attrs=("number", "value", "state", "duration", "params", "user_attrs"))
    return TuningResult(dict(study.best_params), float(study.best_value), trials)
