"""Seeded 95% bootstrap confidence intervals for accuracy, ROC AUC and AP, vectorised.

Images are resampled with replacement, **within each class** by default: test splits are
class-balanced by design (``sample_balanced``), so each resample keeps the split's real/fake counts
and every resample has both classes. The interval is the percentile interval of the resampled
metric. A resample is held as a row of multiplicities (how often each image was drawn), and AUC/AP are
computed on all rows at once from per-distinct-score counts, the same values scikit-learn gives on
the materialised resample (ties included; see ``tests/test_scoring_bootstrap.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jpegai_fd.scoring.labels import decide, is_fake

DEFAULT_RESAMPLES = 1000
METRICS = ("accuracy", "roc_auc", "average_precision")


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def resample_counts(y_true: np.ndarray, n_resamples: int, seed: int, stratify: bool = True) -> np.ndarray:
    """(n_resamples, n_images) int32: how often each image is drawn in each resample."""
    rng = np.random.default_rng(seed)
    n = len(y_true)
    pools = [np.flatnonzero(is_fake(y_true)), np.flatnonzero(~is_fake(y_true))] if stratify else [np.arange(n)]
    offsets = np.arange(n_resamples, dtype=np.int64)[:, None] * n
    flat = [(offsets + pool[rng.integers(0, len(pool), size=(n_resamples, len(pool)))]).ravel()
            for pool in pools if len(pool)]
    # One bincount over (row, image) cells: far faster than np.add.at on the 2-d matrix.
    return np.bincount(np.concatenate(flat), minlength=n_resamples * n).reshape(n_resamples, n).astype(np.int32)


def _class_weights_by_score(counts: np.ndarray, fake: np.ndarray, scores: np.ndarray):
    """Per resample and distinct score (descending): drawn fakes and drawn reals at that score."""
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    starts = np.flatnonzero(np.concatenate([[True], ranked[1:] != ranked[:-1]]))  # first of each tie run
    drawn = counts[:, order].astype(np.float64)
    is_pos = fake[order]
    return (np.add.reduceat(drawn * is_pos, starts, axis=1), np.add.reduceat(drawn * ~is_pos, starts, axis=1))


def weighted_auc_ap(counts: np.ndarray, y_true: np.ndarray, p_fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC AUC and AP (fake positive) of each resample row of ``counts``; NaN where a class is absent.

    AUC = P(fake score > real score) + 1/2 P(tie) over drawn pairs; AP = sum over distinct cuts
    (descending) of precision x (recall step), as ``sklearn.metrics.average_precision_score``."""
    fake = is_fake(y_true)
    pos, neg = _class_weights_by_score(np.asarray(counts), fake, np.asarray(p_fake, dtype=np.float64))
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    fp = np.cumsum(neg, axis=1)  # reals at or above each distinct score
    # Pairs (fake, real) with the fake above: reals strictly below = n_neg - fp; ties count half.
    ordered = n_neg * n_pos - np.einsum("ij,ij->i", pos, fp) + 0.5 * np.einsum("ij,ij->i", pos, neg)
    tp = np.cumsum(pos, axis=1)
    fp += tp  # now everything called fake at each cut (>= 1 wherever a fake is drawn: pos > 0)
    np.maximum(fp, 1, out=fp)
    np.divide(tp, fp, out=tp)  # precision at each cut
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ordered / (n_pos * n_neg)
        ap = np.einsum("ij,ij->i", pos, tp) / n_pos
    bad = (n_pos == 0) | (n_neg == 0)
    auc[bad] = ap[bad] = np.nan
    return auc, ap


def bootstrap_intervals(y_true: np.ndarray, p_fake: np.ndarray, threshold: float = 0.5,
                        n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0, level: float = 0.95,
                        stratify: bool = True) -> dict[str, Interval]:
    """Point value and percentile interval of accuracy (at ``threshold``), ROC AUC and AP.

    ``y_true``: dataset labels (1 real, 0 fake); ``p_fake``: P(fake) per image. The same ``seed``
    gives the same intervals on any machine (numpy's PCG64 stream, no threads involved). AUC and AP
    are left out when the split has one class only.
    """
    y_true = np.asarray(y_true)
    p_fake = np.asarray(p_fake, dtype=np.float64)
    counts = resample_counts(y_true, n_resamples, seed, stratify)
    correct = (decide(p_fake, threshold) == y_true).astype(np.float64)
    drawn = counts.sum(axis=1)
    values = {"accuracy": (correct.mean(), counts @ correct / drawn)}
    fake = is_fake(y_true)
    if fake.any() and (~fake).any():
        auc, ap = weighted_auc_ap(np.vstack([np.ones(len(y_true), dtype=np.int32), counts]), y_true, p_fake)
        values["roc_auc"] = (auc[0], auc[1:])  # row 0: every image once, the point value
        values["average_precision"] = (ap[0], ap[1:])
    tail = (1 - level) / 2 * 100
    return {name: Interval(float(point), *map(float, np.nanpercentile(dist, [tail, 100 - tail])))
            for name, (point, dist) in values.items()}


def interval_metrics(intervals: dict[str, Interval], prefix: str) -> dict[str, float]:
    """``{prefix}/{metric}_ci_low`` and ``_ci_high`` for each interval (the metric itself is logged
    by :func:`jpegai_fd.scoring.metrics.split_metrics`)."""
    out = {}
    for name, iv in intervals.items():
        out[f"{prefix}/{name}_ci_low"] = iv.low
        out[f"{prefix}/{name}_ci_high"] = iv.high
    return out
