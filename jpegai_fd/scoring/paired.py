"""Paired comparisons of runs evaluated on the same test images.

* McNemar's test on the two runs' decisions: only the discordant images count (b: A right and B
  wrong, c: A wrong and B right). With b + c < ``EXACT_BELOW`` (25) the p-value is the exact
  two-sided binomial one, 2 P(X <= min(b, c)) for X ~ Bin(b + c, 1/2), capped at 1; otherwise the
  chi-square statistic with continuity correction (|b - c| - 1)^2 / (b + c), 1 degree of freedom.
* A paired bootstrap on the ROC AUC difference: the same resampled images for both runs.
* :func:`compare_to_best`: each run of a table against the table's best one.

p-values are per comparison, not corrected for the number of runs in a table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

from jpegai_fd.scoring.bootstrap import DEFAULT_RESAMPLES, auc_ap_of_draws, check_settings, resample_draws
from jpegai_fd.scoring.labels import is_fake

EXACT_BELOW = 25


@dataclass(frozen=True)
class McNemar:
    a_only: int  # images run A got right and run B wrong
    b_only: int  # images run B got right and run A wrong
    statistic: float | None  # chi-square statistic; None for the exact test
    p_value: float
    method: str  # "exact binomial" or "chi-square, continuity-corrected"


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemar:
    """McNemar's test from two boolean arrays: was each image classified correctly by run A / B."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"runs must be scored on the same images: {a.shape} vs {b.shape}")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    n = a_only + b_only
    if n < EXACT_BELOW:
        p = 1.0 if n == 0 else min(1.0, 2 * stats.binom.cdf(min(a_only, b_only), n, 0.5))
        return McNemar(a_only, b_only, None, float(p), "exact binomial")
    statistic = (abs(a_only - b_only) - 1) ** 2 / n
    return McNemar(
        a_only, b_only, float(statistic), float(stats.chi2.sf(statistic, 1)), "chi-square, continuity-corrected"
    )


@dataclass(frozen=True)
class AucDifference:
    difference: float  # AUC of A minus AUC of B on all images
    low: float
    high: float
    p_value: float  # two-sided bootstrap p-value of "no difference"


def paired_auc_bootstrap(
    y_true: np.ndarray,
    p_fake_a: np.ndarray,
    p_fake_b: np.ndarray,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
    stratify: bool = True,
) -> AucDifference:
    """Percentile interval of AUC(A) - AUC(B) over resamples that draw the same images for A and B."""
    check_settings(n_resamples, level)
    fake = is_fake(y_true)
    draws = resample_draws(np.asarray(y_true), n_resamples, seed, stratify)
    auc_a, _ = auc_ap_of_draws(draws, y_true, p_fake_a)
    auc_b, _ = auc_ap_of_draws(draws, y_true, p_fake_b)
    diff = (auc_a - auc_b)[np.isfinite(auc_a - auc_b)]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(diff, [tail, 100 - tail])
    # The share of resampled differences on the far side of zero, both tails; at least 1/(B+1).
    p = min(1.0, 2 * min((diff <= 0).mean(), (diff >= 0).mean()))
    p = max(p, 1 / (len(diff) + 1))
    point = roc_auc_score(fake, p_fake_a) - roc_auc_score(fake, p_fake_b)
    return AucDifference(float(point), float(low), float(high), float(p))


def compare_to_best(
    y_true: np.ndarray,
    runs: dict[str, dict[str, np.ndarray]],
    alpha: float = 0.05,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> list[dict]:
    """Each run against the best of the table (highest ROC AUC; ties: first listed).

    ``runs``: name -> {"p_fake": P(fake) per image, "y_pred": decisions (1 real, 0 fake)}, all on the
    same images in the same order as ``y_true`` (align them with :func:`align_runs`). Returns one row
    per run, best first: name, auc, accuracy, is_best, McNemar and AUC-difference results against
    the best, and ``not_significant`` (True when neither test rejects "same as best" at ``alpha``;
    the report marks those). Rows are JSON-ready dicts.
    """
    y_true = np.asarray(y_true)
    aucs = {name: float(roc_auc_score(is_fake(y_true), r["p_fake"])) for name, r in runs.items()}
    best = max(aucs, key=lambda k: (aucs[k], -list(runs).index(k)))
    rows = []
    for name in sorted(runs, key=lambda k: (k != best, -aucs[k])):
        run = runs[name]
        row = {
            "name": name,
            "roc_auc": aucs[name],
            "accuracy": float((run["y_pred"] == y_true).mean()),
            "is_best": name == best,
        }
        if name != best:
            test = mcnemar(runs[best]["y_pred"] == y_true, run["y_pred"] == y_true)
            diff = paired_auc_bootstrap(y_true, runs[best]["p_fake"], run["p_fake"], n_resamples, seed)
            row["mcnemar"] = asdict(test)
            row["auc_difference"] = asdict(diff)  # best minus this run
            row["not_significant"] = bool(test.p_value >= alpha and diff.p_value >= alpha)
        rows.append(row)
    return rows


def align_runs(tables: dict[str, dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, dict[str, dict]]:
    """Restrict runs to the images they all scored, in one order.

    ``tables``: name -> {"id", "y_true", "p_fake", "y_pred"} arrays (a per-image score artifact).
    Returns (ids, y_true, runs) ready for :func:`compare_to_best`. Raises ValueError when two runs
    give one image different labels (then they were not run on the same dataset).
    """
    shared = set.intersection(*(set(np.asarray(t["id"]).astype(str)) for t in tables.values())) if tables else ()
    ids = np.array(sorted(shared), dtype=str)
    y_true, runs = np.array([], dtype=np.int8), {}
    for name, t in tables.items():
        position = {i: k for k, i in enumerate(np.asarray(t["id"]).astype(str))}
        take = np.array([position[i] for i in ids], dtype=np.int64)
        labels = np.asarray(t["y_true"])[take]
        if runs and not np.array_equal(labels, y_true):
            raise ValueError(f"run {name!r} labels the shared images differently: not the same test set")
        y_true = labels
        runs[name] = {
            "p_fake": np.asarray(t["p_fake"], dtype=np.float64)[take],
            "y_pred": np.asarray(t["y_pred"])[take],
        }
    return ids, y_true, runs
