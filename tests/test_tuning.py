"""Optuna inside the job: grouped CV, pruning of hopeless trials, resumable persistent studies."""

from __future__ import annotations

from functools import partial

import numpy as np
import optuna
from sklearn.linear_model import LogisticRegression

from jpegai_fd.classifiers import Classifier
from jpegai_fd.features.matrix import FeatureSet
from jpegai_fd.tuning import TuningSettings
from jpegai_fd.tuning.study import tune


def separable(n_images=60, per_image=3, seed=0) -> FeatureSet:
    rng = np.random.default_rng(seed)
    labels = np.arange(n_images) % 2
    y = np.repeat(labels, per_image).astype(np.int8)
    X = rng.normal(size=(len(y), 5)).astype(np.float32)
    X[:, 0] += 2.5 * (2 * y - 1)
    return FeatureSet(X, y, np.repeat(np.arange(n_images), per_image), n_images)


def logistic(low=1e-9, high=10.0):
    # Tiny C shrinks every weight to 0: a constant prediction, chance accuracy, a hopeless trial.
    return Classifier(
        "logreg",
        partial(LogisticRegression, max_iter=200),
        {"C": {"type": "float", "low": low, "high": high, "log": True}},
    )


def tuning(**kw):
    base = {
        "n_trials": 12,
        "timeout": None,
        "cv_folds": 3,
        "scoring": "accuracy",
        "storage": None,
        "heartbeat_s": 60,
        "study_name": None,
        "pruner": {"n_startup_trials": 2, "n_warmup_steps": 0},
    }
    return TuningSettings(**{**base, **kw})


def test_hopeless_trials_are_pruned_after_their_first_folds():
    result = tune(logistic(), separable(), tuning(), seed=3, study_name="prune")
    states = result.trials["state"].tolist()
    assert len(states) == 12
    pruned = result.trials[result.trials["state"] == "PRUNED"]
    assert len(pruned) >= 1
    assert all(len(scores) < 3 for scores in pruned["user_attrs_fold_scores"])
    complete = result.trials[result.trials["state"] == "COMPLETE"]
    assert all(len(scores) == 3 for scores in complete["user_attrs_fold_scores"])
    assert result.best_score > 0.9 and result.best_params["C"] > 1e-4


def test_persistent_study_resumes_with_only_the_missing_trials(tmp_path):
    storage = f"sqlite:///{tmp_path}/optuna.db"
    first = tune(logistic(1e-3), separable(), tuning(n_trials=3, storage=storage), seed=1, study_name="job")
    assert len(first.trials) == 3
    second = tune(logistic(1e-3), separable(), tuning(n_trials=5, storage=storage), seed=1, study_name="job")
    assert len(second.trials) == 5
    study = optuna.load_study(study_name="job", storage=storage)
    assert len(study.trials) == 5 and [t.number for t in study.trials] == list(range(5))
    third = tune(logistic(1e-3), separable(), tuning(n_trials=5, storage=storage), seed=1, study_name="job")
    assert len(third.trials) == 5 and third.best_params == second.best_params


def test_no_search_when_n_trials_is_zero():
    result = tune(logistic(), separable(), tuning(n_trials=0), seed=0, study_name="none")
    assert result.best_params == {} and result.trials.empty
