"""Paired comparisons of runs on the same test images: McNemar's test on the decisions (exact binomial below 25
discordant images, else chi-square with continuity correction) and a paired bootstrap of the ROC AUC difference.
p-values are per comparison, not corrected for the number of runs in a table."""

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import roc_auc_score

from jpegai_fd.scoring.bootstrap import DEFAULT_RESAMPLES, auc_ap_of_draws, check_settings, resample_draws
from jpegai_fd.scoring.labels import is_fake

EXACT_BELOW = 25
LEVEL = 0.95


@dataclass(frozen=True)
class McNemar:
    a_only: int  # images run A got right and run B wrong
    b_only: int  # images run B got right and run A wrong
    statistic: float | None  # chi-square statistic; None for the exact test
    p_value: float
    method: str  # "exact binomial" or "chi-square, continuity-corrected"


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemar:
    """McNemar's test from whether each image was classified correctly by run A and by run B."""
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"runs must be scored on the same images: {a.shape} vs {b.shape}")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    n = a_only + b_only
    if n < EXACT_BELOW:
        p = 1.0 if n == 0 else min(1.0, 2 * stats.binom.cdf(min(a_only, b_only), n, 0.5))
        return McNemar(a_only, b_only, None, float(p), "exact binomial")
    statistic = float((abs(a_only - b_only) - 1) ** 2 / n)
    return McNemar(a_only, b_only, statistic, float(stats.chi2.sf(statistic, 1)), "chi-square, continuity-corrected")


@dataclass(frozen=True)
class AucDifference:
    difference: float  # AUC of A minus AUC of B on all images
    low: float
    high: float
    p_value: float  # two-sided bootstrap p-value of "no difference"


def paired_auc_bootstrap(
    y_true: np.ndarray, p_fake_a: np.ndarray, p_fake_b: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> AucDifference:
    """95% percentile interval of AUC(A) - AUC(B) over resamples that draw the same images for A and B."""
    check_settings(n_resamples, LEVEL)
    fake = is_fake(y_true)
    draws = resample_draws(np.asarray(y_true), n_resamples, seed)
    auc_a, _ = auc_ap_of_draws(draws, y_true, p_fake_a)
    auc_b, _ = auc_ap_of_draws(draws, y_true, p_fake_b)
    diff = (auc_a - auc_b)[np.isfinite(auc_a - auc_b)]
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(diff, [tail, 100 - tail])
    # The share of resampled differences on the far side of zero, both tails; at least 1/(B+1).
    p = max(min(1.0, 2 * min((diff <= 0).mean(), (diff >= 0).mean())), 1 / (len(diff) + 1))
    point = roc_auc_score(fake, p_fake_a) - roc_auc_score(fake, p_fake_b)
    return AucDifference(float(point), float(low), float(high), float(p))


def compare_to_best(
    y_true: np.ndarray,
    runs: dict[str, dict[str, np.ndarray]],
    alpha: float = 0.05,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> list[dict]:
    """Each run (name -> {"p_fake", "y_pred"} on the images of ``y_true``, see :func:`align_runs`) against
    the best (highest ROC AUC; ties: first listed): JSON-ready rows, best first, with both tests and
    ``not_significant`` (neither rejects "same as best" at ``alpha``)."""
    y_true = np.asarray(y_true)
    aucs = {name: float(roc_auc_score(is_fake(y_true), r["p_fake"])) for name, r in runs.items()}
    best = max(aucs, key=lambda k: (aucs[k], -list(runs).index(k)))
    rows = []
    for name in sorted(runs, key=lambda k: (k != best, -aucs[k])):
        run = runs[name]
        row = {"name": name, "roc_auc": aucs[name], "accuracy": float((run["y_pred"] == y_true).mean())}
        row["is_best"] = name == best
        if name != best:
            test = mcnemar(runs[best]["y_pred"] == y_true, run["y_pred"] == y_true)
            diff = paired_auc_bootstrap(y_true, runs[best]["p_fake"], run["p_fake"], n_resamples, seed)
            row["mcnemar"] = asdict(test)
            row["auc_difference"] = asdict(diff)  # best minus this run
            row["not_significant"] = bool(test.p_value >= alpha and diff.p_value >= alpha)
        rows.append(row)
    return rows


def align_runs(tables: dict[str, dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, dict[str, dict]]:
    """(ids, y_true, runs) of the images every table (name -> :func:`read_scores_csv` arrays) scored, in
    one order; ValueError when two runs label one image differently (not the same dataset)."""
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
