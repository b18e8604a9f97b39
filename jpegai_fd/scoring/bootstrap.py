"""Seeded bootstrap percentile intervals for accuracy, ROC AUC and AP, vectorised, resampled within each class;
AUC and AP of all resamples from one ``bincount`` of (resample, score, class) cells, equal to scikit-learn's."""

from dataclasses import dataclass

import numpy as np

from jpegai_fd.errors import UserError
from jpegai_fd.scoring.labels import decide, is_fake

DEFAULT_RESAMPLES = 1000


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


def check_settings(n_resamples: int, level: float) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise UserError(f"invalid number of bootstrap resamples {n_resamples!r}; use a positive integer, e.g. 1000")
    if not 0 < level < 1:
        raise UserError(f"invalid confidence level {level!r}; use a number strictly between 0 and 1, e.g. 0.95")


def resample_draws(y_true: np.ndarray, n_resamples: int, seed: int, stratify: bool = True) -> np.ndarray:
    """(n_resamples, n_images) int64: the images each resample draws; ``stratify``: within each class."""
    rng, fake = np.random.default_rng(seed), is_fake(np.asarray(y_true))
    pools = [np.flatnonzero(fake), np.flatnonzero(~fake)] if stratify else [np.arange(len(fake))]
    draws = [pool[rng.integers(0, len(pool), size=(n_resamples, len(pool)))] for pool in pools if len(pool)]
    return np.concatenate(draws, axis=1) if draws else np.zeros((n_resamples, 0), dtype=np.int64)


def _class_counts_by_score(draws: np.ndarray, fake: np.ndarray, scores: np.ndarray):
    """Per resample and distinct score (descending): drawn fakes and drawn reals at that score."""
    distinct, where = np.unique(scores, return_inverse=True)
    n_distinct = len(distinct)
    # Cell of each image within a row: fakes' block then reals' block, each by descending score.
    cell = np.where(fake, 0, n_distinct) + (n_distinct - 1 - where)
    cells = cell[draws] + np.arange(len(draws), dtype=np.int64)[:, None] * (2 * n_distinct)
    counts = np.bincount(cells.ravel(), minlength=len(draws) * 2 * n_distinct).astype(np.float64)
    counts = counts.reshape(len(draws), 2, n_distinct)
    return counts[:, 0], counts[:, 1]


def auc_ap_of_draws(draws: np.ndarray, y_true: np.ndarray, p_fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC AUC (P(fake > real) + P(tie) / 2) and AP (fake positive) per row of ``draws``; NaN without a class."""
    fake = is_fake(y_true)
    pos, neg = _class_counts_by_score(np.asarray(draws), fake, np.asarray(p_fake, dtype=np.float64))
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


def bootstrap_intervals(
    y_true: np.ndarray,
    p_fake: np.ndarray,
    threshold: float = 0.5,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Interval]:
    """Value and interval (classes resampled apart) of accuracy (at ``threshold``), ROC AUC and AP (two classes)."""
    check_settings(n_resamples, level)
    y_true, p_fake = np.asarray(y_true), np.asarray(p_fake, dtype=np.float64)
    draws = resample_draws(y_true, n_resamples, seed)
    correct = decide(p_fake, threshold) == y_true
    values = {"accuracy": (correct.mean(), correct[draws].mean(axis=1))}
    fake = is_fake(y_true)
    if fake.any() and (~fake).any():
        auc, ap = auc_ap_of_draws(np.vstack([np.arange(len(y_true)), draws]), y_true, p_fake)
        values |= {"roc_auc": (auc[0], auc[1:]), "average_precision": (ap[0], ap[1:])}  # row 0: each image once
    tail = (1 - level) / 2 * 100
    return {
        name: Interval(float(point), *map(float, np.nanpercentile(dist, [tail, 100 - tail])))
        for name, (point, dist) in values.items()
    }
