"""Classifiers: an estimator built from ``cfg.classifier.estimator`` plus tuned parameters, and the
Optuna search space that proposes those parameters."""

from __future__ import annotations

import optuna
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf


def make_estimator(classifier: DictConfig, params: dict | None = None):
    """A fresh, unfitted estimator: ``classifier.estimator`` with ``params`` overriding its fixed values."""
    return instantiate(classifier.estimator, **(params or {}))


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


__all__ = ["make_estimator", "suggest_params"]
