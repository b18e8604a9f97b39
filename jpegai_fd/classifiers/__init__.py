"""Classifiers: an estimator built from ``cfg.classifier.estimator`` plus tuned parameters, and the
Optuna search space that proposes those parameters."""

from __future__ import annotations

import inspect

import numpy as np
import optuna
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf


def make_estimator(classifier: DictConfig, params: dict | None = None):
    """A fresh, unfitted estimator: ``classifier.estimator`` with ``params`` overriding its fixed values."""
    return instantiate(classifier.estimator, **(params or {}))


def fit_on_rows(model, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None):
    """``model.fit(X, y)``, passing ``groups`` (the image of each row) to estimators whose ``fit``
    takes it, so that their early-stopping split never puts patches of one image on both sides.
    Returns the fitted model."""
    if groups is not None and "groups" in inspect.signature(model.fit).parameters:
        return model.fit(X, y, groups=groups)
    return model.fit(X, y)


def suggest_params(trial: optuna.Trial, space: DictConfig) -> dict:
    """Draw one value per entry of a search space of ``{type: int|float, low, high, log}`` or
    ``{type: categorical, choices}`` specs."""
    params = {}
    for name, spec in (space or {}).items():
        if spec.type == "int":
            params[name] = trial.suggest_int(name, int(spec.low), int(spec.high), log=bool(spec.get("log", False)))
        elif spec.type == "float":
            params[name] = trial.suggest_float(name, float(spec.low), float(spec.high), log=bool(spec.get("log", False)))
        else:
            params[name] = trial.suggest_categorical(name, list(OmegaConf.to_container(spec.choices)))
    return params


__all__ = ["fit_on_rows", "make_estimator", "suggest_params"]
