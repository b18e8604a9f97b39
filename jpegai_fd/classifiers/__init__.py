"""Classifiers: a :class:`Classifier` option builds estimators with tuned parameters, and its Optuna
search space proposes those parameters."""

from __future__ import annotations

import inspect

import numpy as np
import optuna

from jpegai_fd.classifiers.spec import Classifier


def make_estimator(classifier: Classifier, params: dict | None = None):
    """A fresh, unfitted estimator of ``classifier`` with ``params`` overriding its fixed values."""
    return classifier.make(params)


def fit_on_rows(model, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None):
    """``model.fit(X, y)``, passing ``groups`` (the image of each row) to estimators whose ``fit``
    takes it, so that their early-stopping split never puts patches of one image on both sides.
    Returns the fitted model."""
    if groups is not None and "groups" in inspect.signature(model.fit).parameters:
        return model.fit(X, y, groups=groups)
    return model.fit(X, y)


def predict_real(model, X) -> np.ndarray:
    """P(label 1 = real) per row from a fitted estimator, whatever the order of its ``classes_``."""
    return model.predict_proba(X)[:, list(model.classes_).index(1)]


def suggest_params(trial: optuna.Trial, space: dict) -> dict:
    """Draw one value per entry of a search space of ``{type: int|float, low, high, log}`` or
    ``{type: categorical, choices}`` specs (plain dicts)."""
    params = {}
    for name, spec in (space or {}).items():
        log = bool(spec.get("log", False))
        if spec["type"] == "int":
            params[name] = trial.suggest_int(name, int(spec["low"]), int(spec["high"]), log=log)
        elif spec["type"] == "float":
            params[name] = trial.suggest_float(name, float(spec["low"]), float(spec["high"]), log=log)
        else:
            params[name] = trial.suggest_categorical(name, list(spec["choices"]))
    return params


__all__ = ["Classifier", "fit_on_rows", "make_estimator", "predict_real", "suggest_params"]
