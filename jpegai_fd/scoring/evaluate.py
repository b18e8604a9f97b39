"""Every score of one split, unprefixed (the caller adds ``test/``, ``eval/<name>/``, ...); names and meanings in
docs/reference/metrics.md. A one-class split leaves out the two-class metrics."""

from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from jpegai_fd.scoring.bootstrap import bootstrap_intervals
from jpegai_fd.scoring.labels import FAKE, REAL, is_fake
from jpegai_fd.scoring.metrics import brier_score, decision_metrics, expected_calibration_error, source_metrics
from jpegai_fd.scoring.metrics import split_metrics
from jpegai_fd.scoring.settings import ScoringSettings
from jpegai_fd.scoring.vote import fixed_rule

AT_CUT = ("accuracy", "balanced_accuracy", "accuracy_real", "accuracy_fake", "false_alarm_rate")


@dataclass(frozen=True)
class SplitScores:
    """``metrics``; per image: raw ``score``, calibrated ``p_fake``, decision ``fake``, fixed rule's, ``sources``."""

    metrics: dict[str, float]
    score: np.ndarray
    p_fake: np.ndarray
    fake: np.ndarray
    fixed_p_fake: np.ndarray
    fixed_fake: np.ndarray
    sources: np.ndarray | None = None


def evaluate_split(
    y_true: np.ndarray, p_real, groups: np.ndarray, n_images: int, decision, settings: ScoringSettings, sources=None
) -> SplitScores:
    """Score one split from P(real) per sample, each sample's image and the valid-chosen ``decision``; with per-image
    ``sources``, the metrics per source too (:func:`~jpegai_fd.scoring.metrics.source_metrics`)."""
    y_true = np.asarray(y_true)
    fixed_p_fake, fixed_fake = fixed_rule(p_real, groups, n_images)
    out, fake = decision_metrics(y_true, fixed_fake), is_fake(y_true)
    if fake.any():
        out["recall"] = out["accuracy_fake"]
    if fixed_fake.any() or fake.any():
        out["precision"] = float(skm.precision_score(fake, fixed_fake, zero_division=0))
        out["f1"] = float(skm.f1_score(fake, fixed_fake, zero_division=0))
    score = decision.score(p_real, groups, n_images)
    p_fake, fake = decision.apply(p_real, groups, n_images)
    chosen = split_metrics(y_true, score, decision.cut)
    out |= {f"{name}_at_valid" if name in AT_CUT else name: v for name, v in chosen.items()}
    if decision.calibrator is not None:
        out["ece_calibrated"] = expected_calibration_error(y_true, p_fake)
        out["brier_calibrated"] = brier_score(y_true, p_fake)
    if settings.bootstrap_resamples:
        resampling = (settings.bootstrap_resamples, settings.seed, settings.ci_level)
        for name, iv in bootstrap_intervals(y_true, score, decision.cut, *resampling).items():
            key = "accuracy_at_valid" if name == "accuracy" else name
            out[f"{key}_ci_low"], out[f"{key}_ci_high"] = iv.low, iv.high
    if sources is not None:
        out |= source_metrics(sources, y_true, fake, score)
    return SplitScores(out, score, p_fake, fake, fixed_p_fake, fixed_fake, sources)


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """JSON-ready confusion matrix: rows true, columns predicted, order fake, real."""
    cm = skm.confusion_matrix(y_true, y_pred, labels=[FAKE, REAL])
    return {"labels": ["fake", "real"], "rows": "true", "columns": "predicted", "matrix": cm.tolist()}
