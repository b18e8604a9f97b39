"""Fitting on rows: the early-stopping holdout by image, and the tuning backends, built once per study as
``backend(classifier=, features=, scoring=)`` and called ``backend(params, fit_idx, val_idx) -> score`` per fold (higher
is better); ``classifier.tuning_backend`` may name one that shares work across folds (lgbm)."""

import dataclasses
import inspect
import typing
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import get_scorer
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, Options

from jpegai_fd.features.matrix import FeatureSet


COUNT = Interval(Integral, 1, None, closed="left")  # shared scikit-learn constraints of our estimators' parameters
NON_NEGATIVE = Interval(Integral, 0, None, closed="left")
MINUS_ONE = Options(Integral, {-1})  # n_jobs: every core; max_depth: no limit
FRACTION = Interval(Real, 0, 1, closed="neither")


def estimator(cls: type) -> type:
    """``cls`` with scikit-learn's ``__init__`` (parameters kept as given) and ``_parameter_constraints``, both from its
    ``name: Annotated[type, *constraints] = default`` fields: one line per parameter instead of two lists."""
    hints = typing.get_type_hints(cls, include_extras=True)
    cls._parameter_constraints = {k: list(h.__metadata__) for k, h in hints.items() if hasattr(h, "__metadata__")}
    return dataclasses.dataclass(repr=False, eq=False)(cls)


class ProbaClassifier(ClassifierMixin, BaseEstimator):
    """``predict``: the class of highest ``predict_proba`` (ties: the first); scikit-learn leaves it to each estimator."""

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)  # first: an unfitted estimator raises NotFittedError, not AttributeError
        return self.classes_[np.argmax(proba, axis=1)]


def fit_on_rows(model, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None):
    """``model.fit(X, y)``, with ``groups`` (each row's image) where ``fit`` takes it: a holdout by image."""
    if groups is not None and "groups" in inspect.signature(model.fit).parameters:
        return model.fit(X, y, groups=groups)
    return model.fit(X, y)


def image_labels(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The label of each image (0..max(groups)) from the labels of its samples (int, rounded mean)."""
    return np.rint(np.bincount(groups, weights=y) / np.bincount(groups)).astype(int)


def holdout_split(
    y: np.ndarray, groups: np.ndarray | None, rows: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(fit_rows, held_out_rows) of ``rows``: about ``fraction`` of their images held out, stratified by label; an
    image's rows (``groups``, default one per image) stay on one side."""
    groups = np.arange(len(rows)) if groups is None else np.asarray(groups)[rows]
    images, inverse = np.unique(groups, return_inverse=True)
    image_label = image_labels(np.asarray(y)[rows], inverse)
    stratify = image_label if np.bincount(image_label).min() >= 2 else None
    _, held_out = train_test_split(np.arange(len(images)), test_size=fraction, random_state=seed, stratify=stratify)
    is_held_out = np.isin(inverse, held_out)
    return rows[~is_held_out], rows[is_held_out]


class EstimatorFolds:
    """Default backend: a fresh estimator per fold, fitted on copied row subsets."""

    def __init__(self, classifier, features: FeatureSet, scoring: str):
        self.classifier, self.features, self.scorer = classifier, features, get_scorer(scoring)

    def __call__(self, params: dict, fit_idx, val_idx) -> float:
        X, y, groups = self.features.X, self.features.y, self.features.groups
        model = fit_on_rows(self.classifier.make(params), X[fit_idx], y[fit_idx], groups[fit_idx])
        return float(self.scorer(model, X[val_idx], y[val_idx]))
