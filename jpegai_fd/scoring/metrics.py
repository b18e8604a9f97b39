"""Detection metrics of one split from labels (1 real, 0 fake) and P(fake), fake positive; a one-class
split leaves out the metrics that need both classes."""

import re

import numpy as np
from sklearn import metrics as skm

from jpegai_fd.scoring.labels import is_fake

ECE_BINS = 15  # equal-width bins of P(fake) over [0, 1], the usual choice for reliability diagrams
LOW_FPRS = {"tpr_at_fpr_1pct": 0.01, "tpr_at_fpr_5pct": 0.05}
NOT_IN_NAME = re.compile(r"[^\w.\- ]")  # what MLflow refuses in a metric name's part (colons: on Windows)


def expected_calibration_error(y_true: np.ndarray, p_fake: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """Image-weighted mean over equal-width bins of |mean P(fake) - share of fakes| (0: calibrated)."""
    p = np.asarray(p_fake, dtype=np.float64)
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    mean_p = np.bincount(bins, weights=p, minlength=n_bins)
    fakes = np.bincount(bins, weights=is_fake(y_true).astype(np.float64), minlength=n_bins)
    return float(np.abs(mean_p - fakes).sum() / max(len(p), 1))


def brier_score(y_true: np.ndarray, p_fake: np.ndarray) -> float:
    return float(np.mean((np.asarray(p_fake, dtype=np.float64) - is_fake(y_true)) ** 2))


def equal_error_rate(y_true: np.ndarray, p_fake: np.ndarray) -> float:
    """The error rate where false alarms equal misses, interpolated between the two ROC points around it."""
    fpr, tpr, _ = skm.roc_curve(is_fake(y_true), p_fake, drop_intermediate=False)
    fnr = 1 - tpr
    gap = fnr - fpr  # decreases from 1 to -1 along the curve
    i = int(np.flatnonzero(gap <= 0)[0])
    if i == 0 or gap[i] == 0:
        return float(fpr[i])
    w = gap[i - 1] / (gap[i - 1] - gap[i])  # fraction of the way from point i-1 to i where gap = 0
    return float(fpr[i - 1] + w * (fpr[i] - fpr[i - 1]))


def decision_metrics(y_true: np.ndarray, fake_pred: np.ndarray) -> dict[str, float]:
    """``accuracy`` of the decisions (True: fake), and the per-class ones the split's classes allow."""
    fake = is_fake(y_true)
    correct = np.asarray(fake_pred) == fake
    out = {"accuracy": correct.mean()}
    if (~fake).any():
        out["accuracy_real"] = correct[~fake].mean()
        out["false_alarm_rate"] = 1 - out["accuracy_real"]
    if fake.any():
        out["accuracy_fake"] = correct[fake].mean()
    if fake.any() and (~fake).any():
        out["balanced_accuracy"] = (out["accuracy_real"] + out["accuracy_fake"]) / 2
    return {k: float(v) for k, v in out.items()}


def split_metrics(y_true: np.ndarray, p_fake: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Unprefixed metrics at ``threshold`` (fake when P(fake) >= it); see :mod:`.evaluate` for the names."""
    y_true = np.asarray(y_true)
    p_fake = np.asarray(p_fake, dtype=np.float64)
    if y_true.shape != p_fake.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"need two equal, non-empty 1-d arrays; got {y_true.shape} and {p_fake.shape}")
    if not ((p_fake >= 0) & (p_fake <= 1)).all():
        raise ValueError("scores must be probabilities (or vote shares) in [0, 1]")
    fake = is_fake(y_true)
    decided = decision_metrics(y_true, p_fake >= threshold)
    out = {"accuracy": decided.pop("accuracy"), "ece": expected_calibration_error(y_true, p_fake)}
    out |= {"brier": brier_score(y_true, p_fake), "n_real": (~fake).sum(), "n_fake": fake.sum(), **decided}
    if fake.any() and (~fake).any():
        out["roc_auc"] = skm.roc_auc_score(fake, p_fake)
        out["average_precision"] = skm.average_precision_score(fake, p_fake)
        out["eer"] = equal_error_rate(y_true, p_fake)
        fpr, tpr, _ = skm.roc_curve(fake, p_fake, drop_intermediate=False)  # fakes caught at a ROC step within budget
        out.update({name: tpr[fpr <= max_fpr + 1e-12].max() for name, max_fpr in LOW_FPRS.items()})
    return {k: float(v) for k, v in out.items()}


def source_metrics(sources: np.ndarray, y_true: np.ndarray, fake_pred: np.ndarray, score: np.ndarray) -> dict:
    """``source/<name>/...`` per source, when a class has several: ``fake_recall`` and ``n_fake`` of its fakes,
    ``false_alarm_rate`` and ``n_real`` of its reals (shares of ``fake_pred``), ``roc_auc_fake`` (its fakes against
    every real) and ``roc_auc_real`` (every fake against its reals) when the other class is there."""
    sources, fake, fake_pred = np.asarray(sources).astype(str), is_fake(y_true), np.asarray(fake_pred, bool)
    out: dict[str, float] = {}
    if max(len(set(sources[fake])), len(set(sources[~fake]))) < 2:
        return out
    for cls, rate, members in (("fake", "fake_recall", fake), ("real", "false_alarm_rate", ~fake)):
        for name in sorted(set(sources[members])):
            mine, key = members & (sources == name), f"source/{NOT_IN_NAME.sub('_', name)}/"
            out |= {key + rate: float(fake_pred[mine].mean()), f"{key}n_{cls}": float(mine.sum())}
            if (~members).any():
                both = mine | ~members
                out[f"{key}roc_auc_{cls}"] = float(skm.roc_auc_score(fake[both], np.asarray(score)[both]))
    return out


def prefixed(values: dict[str, float], prefix: str, suffix: str = "") -> dict[str, float]:
    """``{"accuracy": .9}`` -> ``{"test/accuracy_at_valid": .9}`` for prefix "test", suffix "_at_valid"."""
    return {f"{prefix}/{k}{suffix}": v for k, v in values.items()}
