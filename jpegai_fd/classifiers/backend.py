"""Tuning backends: how one CV fold of one Optuna trial is fitted and scored.

The default refits ``classifier.make(params)`` on ``X[fit_idx]`` and scores it on ``X[val_idx]``. A
classifier may name its own backend in ``classifier.tuning_backend`` (a Hydra ``_target_`` with
``_partial_: true``) to share work across trials and folds, e.g. LightGBM bins the feature matrix once
and trains every fold on row subsets of that one binned dataset.

A backend is built once per study as ``backend(classifier=..., features=..., scoring=...)`` and then
called ``backend(params, fit_idx, val_idx) -> score`` (higher is better).
"""

from __future__ import annotations

from sklearn.metrics import get_scorer

from jpegai_fd.classifiers.spec import Classifier
from jpegai_fd.features.matrix import FeatureSet


class EstimatorFolds:
    """Default backend: a fresh estimator per fold, fitted on copied row subsets."""

    def __init__(self, classifier: Classifier, features: FeatureSet, scoring: str):
        self.classifier, self.features, self.scorer = classifier, features, get_scorer(scoring)

    def make(self, params: dict):
        """A fresh estimator of this classifier with ``params``."""
        return self.classifier.make(params)

    def __call__(self, params: dict, fit_idx, val_idx) -> float:
        from jpegai_fd.classifiers import fit_on_rows

        X, y, groups = self.features.X, self.features.y, self.features.groups
        model = fit_on_rows(self.make(params), X[fit_idx], y[fit_idx], groups[fit_idx])
        return float(self.scorer(model, X[val_idx], y[val_idx]))


def fold_scorer(classifier: Classifier, features: FeatureSet, scoring: str):
    """The tuning backend of ``classifier``: its ``tuning_backend``, else :class:`EstimatorFolds`."""
    return classifier.fold_scorer(features, scoring)
