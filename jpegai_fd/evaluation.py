"""Test-split metrics of a detector.

Labels follow the dataset: 1 = real, 0 = fake. The detector's target is the fake class, so precision,
recall, F1 and ROC AUC treat label 0 (fake) as positive and use P(fake) as the score.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics

FAKE = 0


def detection_metrics(y_true: np.ndarray, y_pred: np.ndarray, p_real: np.ndarray) -> dict[str, float]:
    """``test/...`` metrics from true labels, predicted labels and P(real) per image."""
    out = {
        "test/accuracy": metrics.accuracy_score(y_true, y_pred),
        "test/balanced_accuracy": metrics.balanced_accuracy_score(y_true, y_pred),
        "test/precision": metrics.precision_score(y_true, y_pred, pos_label=FAKE, zero_division=0),
        "test/recall": metrics.recall_score(y_true, y_pred, pos_label=FAKE, zero_division=0),
        "test/f1": metrics.f1_score(y_true, y_pred, pos_label=FAKE, zero_division=0),
    }
    both_classes = len(np.unique(y_true)) == 2
    out["test/roc_auc"] = metrics.roc_auc_score(y_true == FAKE, 1 - p_real) if both_classes else float("nan")
    return {k: float(v) for k, v in out.items()}


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Confusion matrix as JSON-ready dict: rows are true classes, columns predicted, order fake, real."""
    cm = metrics.confusion_matrix(y_true, y_pred, labels=[0, 1])
    return {"labels": ["fake", "real"], "rows": "true", "columns": "predicted", "matrix": cm.tolist()}
