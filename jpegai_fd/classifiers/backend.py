"""Tuning backends: how one CV fold of one Optuna trial is fitted and scored.

The default refits ``classifier.make(params)`` on ``X[fit_idx]`` and scores it on ``X[val_idx]``. A
classifier may name its own backend in ``classifier.tuning_backend`` (a Hydra ``_target_`` with
``_partial_: true``) to share work across trials and folds, e.g. LightGBM bins the feature matrix once
and trains every fold on row subsets of that one binned dataset.

A backend is built once per study as ``backend(classifier=..., features=..., scoring=...)`` and then
called ``backend(params, fit_idx, val_idx) -> score`` (higher is better).
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.metrics import get_scorer

from jpegai_fd.features.matrix import FeatureSet


def fit_on_rows(model, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None):
    """``model.fit(X, y)``, passing ``groups`` (the image of each row) to estimators whose ``fit``
    takes it, so that their early-stopping split never puts patches of one image on both sides.
    Returns the fitted model."""
    if groups is not None and "groups" in inspect.signature(model.fit).parameters:
        return model.fit(X, y, groups=groups)
    return model.fit(X, y)


class EstimatorFolds:
    """Default backend: a fresh estimator per fold, fitted on copied row subsets. ``classifier``: a
    :class:`~jpegai_fd.classifiers.spec.Classifier`."""

    def __init__(self, classifier, features: FeatureSet, scoring: str):
        self.classifier, self.features, self.scorer = classifier, features, get_scorer(scoring)

    def __call__(self, params: dict, fit_idx, val_idx) -> float:
        X, y, groups = self.features.X, self.features.y, self.features.groups
        model = fit_on_rows(self.classifier.make(params), X[fit_idx], y[fit_idx], groups[fit_idx])
        return float(self.scorer(model, X[val_idx], y[val_idx]))
