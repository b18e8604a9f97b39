"""Hyperparameter search with Optuna inside the job: TPE, grouped k-fold CV, pruning after folds."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from omegaconf import DictConfig

from jpegai_fd.classifiers import Classifier, suggest_params
from jpegai_fd.classifiers.backend import fold_scorer
from jpegai_fd.errors import UserError
from jpegai_fd.features.matrix import FeatureSet
from jpegai_fd.progress import progress
from jpegai_fd.tuning.cv import grouped_folds
from jpegai_fd.tuning.start_point import enqueue_fixed_start
from jpegai_fd.tuning.shared import claimed, open_storage, run_trials, wait_for_running

log = logging.getLogger(__name__)


@dataclass
class TuningResult:
    """Best parameters (empty when nothing was tuned), their mean CV score, and every trial;
    ``untuned``: why no search ran (the fixed parameters of ``classifier.estimator`` are used), else None."""

    best_params: dict
    best_score: float
    trials: pd.DataFrame
    untuned: str | None = None


def no_trial_completed(study: optuna.Study, tuning: DictConfig) -> UserError:
    """The error of a search in which no trial completed: the job must not pass for a tuned result."""
    states = pd.Series([t.state.name for t in study.trials]).value_counts().to_dict()
    errors = [t.user_attrs["error"] for t in study.trials if t.user_attrs.get("error")]
    why = (
        f"first error: {errors[0]}"
        if errors
        else (f"tuning.timeout={tuning.timeout}s passed first" if tuning.timeout is not None else "no error recorded")
    )
    return UserError(
        f"no trial of the search completed ({', '.join(f'{n} {s}' for s, n in states.items()) or 'none ran'}; "
        f"{why}); check classifier.estimator and classifier.search_space, or set tuning.n_trials=0 "
        f"to train with the fixed parameters"
    )


def _objective(classifier: Classifier, features: FeatureSet, folds, scoring: str):
    score_fold = fold_scorer(classifier, features, scoring)  # default: refit per fold; see backend.py

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


def _sampler(seed: int) -> optuna.samplers.TPESampler:
    # constant_liar: parallel workers see each other's running trials and sample away from them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def tune(classifier: Classifier, features: FeatureSet, tuning: DictConfig, seed: int, study_name: str) -> TuningResult:
    """Search ``classifier.search_space`` on ``features`` with grouped ``tuning.cv_folds``-fold CV.

    With ``tuning.storage`` set, the study is loaded if it exists and only the trials still missing
    from ``tuning.n_trials`` run, so an interrupted search resumes.
    """
    if tuning.n_trials == 0 or not classifier.search_space:
        why = "tuning.n_trials=0" if tuning.n_trials == 0 else "classifier.search_space is empty"
        return TuningResult({}, float("nan"), pd.DataFrame(), untuned=why)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our log says why a trial failed, in one line
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=tuning.pruner.n_startup_trials, n_warmup_steps=tuning.pruner.n_warmup_steps
    )
    storage = open_storage(tuning.storage, tuning.get("heartbeat_s", 60))
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="maximize",
        sampler=_sampler(seed),
        pruner=pruner,
        load_if_exists=True,
    )
    enqueue_fixed_start(study, classifier)  # trial 0 = the fixed parameters: tuning never ends below them in CV
    # n_trials is the study's total: other workers on the same storage count too (see shared.py).
    already = claimed(study)
    remaining = max(tuning.n_trials - already, 0)
    if already:
        log.info("optuna study '%s': %d trials already done or running, up to %d more", study_name, already, remaining)
    folds = grouped_folds(features.y, features.groups, tuning.cv_folds, seed)
    bar = progress(f"tune {classifier.name}", remaining, "trials", log, every_s=0)
    start = time.perf_counter()

    if remaining:
        remaining = run_trials(
            study,
            _objective(classifier, features, folds, tuning.scoring),
            tuning.n_trials,
            tuning.timeout,
            (ValueError, ArithmeticError),
            lambda number: _sampler(seed + number),
            bar.update,
        )
        bar.close()  # a timeout or a lost race ends the search early
    wait_for_running(study, tuning.timeout)  # other workers' last trials, so the best is the study's final best
    if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
        raise no_trial_completed(study, tuning)  # the job ends FAILED, never FINISHED with a nan score
    log.info(
        "optuna: %d trials in %.1fs, best %s=%.4f with %s",
        remaining,
        time.perf_counter() - start,
        tuning.scoring,
        study.best_value,
        study.best_params,
    )
    trials = study.trials_dataframe(attrs=("number", "value", "state", "duration", "params", "user_attrs"))
    return TuningResult(dict(study.best_params), float(study.best_value), trials)
