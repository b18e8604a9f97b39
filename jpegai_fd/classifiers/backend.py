"""Tuning backends: how one CV fold of one trial is fitted and scored. Built once per study as
``backend(classifier=, features=, scoring=)``, called ``backend(params, fit_idx, val_idx) -> score``
(higher is better); ``classifier.tuning_backend`` may name one that shares work across folds (lgbm).
"""

from __future__ import annotations

import inspect

import numpy as np
from sklearn.metrics import get_scorer

from jpegai_fd.features.matrix import FeatureSet


def fit_on_rows(model, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None):
    """``model.fit(X, y)``, with ``groups`` (each row's image) where ``fit`` takes it: early stopping
    then never puts patches of one image on both sides."""
    if groups is not None and "groups" in inspect.signature(model.fit).parameters:
        return model.fit(X, y, groups=groups)
    return model.fit(X, y)


class EstimatorFolds:
    """Default backend: a fresh estimator per fold, fitted on copied row subsets."""

    def __init__(self, classifier, features: FeatureSet, scoring: str):
        self.classifier, self.features, self.scorer = classifier, features, get_scorer(scoring)

    def __call__(self, params: dict, fit_idx, val_idx) -> float:
        X, y, groups = self.features.X, self.features.y, self.features.groups
        model = fit_on_rows(self.classifier.make(params), X[fit_idx], y[fit_idx], groups[fit_idx])
        return float(self.scorer(model, X[val_idx], y[val_idx]))
