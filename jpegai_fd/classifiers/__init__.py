"""Classifiers: a :class:`Classifier` option builds estimators with tuned parameters, and its search
space (checked against the estimator's own constraints) says which parameters a search may propose."""

import numpy as np

from jpegai_fd.classifiers.backend import fit_on_rows
from jpegai_fd.classifiers.spec import Classifier


def predict_real(model, X) -> np.ndarray:
    """P(label 1 = real) per row from a fitted estimator, whatever the order of its ``classes_``."""
    return model.predict_proba(X)[:, list(model.classes_).index(1)]


__all__ = ["Classifier", "fit_on_rows", "predict_real"]
