"""Bootstrap intervals: the vectorised AUC/AP equal scikit-learn's on each materialised resample,
seeded reproducibility, and coverage of the true value at about the stated 95% in a simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, norm
from sklearn.metrics import average_precision_score, roc_auc_score

from jpegai_fd.errors import UserError
from jpegai_fd.scoring.bootstrap import bootstrap_intervals, auc_ap_of_draws, resample_draws


@pytest.mark.parametrize("stratify", [True, False])
def test_vectorised_auc_and_ap_equal_sklearn_on_each_resample(stratify):
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.uniform(size=300) * 0.6 + 0.4 * (y == 0), 1)  # coarse scores: many ties
    draws = resample_draws(y, 25, seed=1, stratify=stratify)
    assert draws.shape == (25, 300)
    kept = ((y[draws] == 0).sum(axis=1) == (y == 0).sum()).all()
    assert kept == stratify  # stratified resamples keep the class counts; plain ones vary
    auc, ap = auc_ap_of_draws(draws, y, p)
    for row in range(25):
        drawn = draws[row]
        assert auc[row] == pytest.approx(roc_auc_score(y[drawn] == 0, p[drawn]), abs=1e-12)
        assert ap[row] == pytest.approx(average_precision_score(y[drawn] == 0, p[drawn]), abs=1e-12)


def test_same_seed_same_intervals_other_seed_others():
    rng = np.random.default_rng(9)
    y = np.repeat([0, 1], 200)
    p = 1 / (1 + np.exp(-(rng.normal(size=400) + (y == 0))))
    a, b, c = (bootstrap_intervals(y, p, n_resamples=300, seed=s) for s in (3, 3, 4))
    assert a == b and a != c
    assert a["roc_auc"].value == pytest.approx(roc_auc_score(y == 0, p))
    assert a["average_precision"].value == pytest.approx(average_precision_score(y == 0, p))
    for iv in a.values():
        assert iv.low <= iv.value <= iv.high and iv.high > iv.low
    assert set(a) == {"accuracy", "roc_auc", "average_precision"}


@pytest.mark.parametrize(
    "kwargs, message", [({"n_resamples": 0}, "number of bootstrap resamples 0"), ({"level": 95}, "confidence level 95")]
)
def test_bad_settings_are_one_clear_error(kwargs, message):
    with pytest.raises(UserError, match=f"invalid {message}"):
        bootstrap_intervals(np.array([0, 1]), np.array([0.7, 0.2]), **kwargs)


def test_one_class_split_gets_an_accuracy_interval_only():
    iv = bootstrap_intervals(np.ones(50), np.linspace(0, 1, 50), n_resamples=100)
    assert set(iv) == {"accuracy"}


def test_intervals_cover_the_true_value_at_about_95_percent():
    """200 simulated test sets (100 fakes, 100 reals, binormal logits 1 apart) with known population
    accuracy at 0.5 (Phi(1/2)) and AUC (Phi(1/sqrt 2)). Coverage must lie within the central 99.8%
    of Binomial(200, 0.95) (179..198 of 200); too narrow and too wide intervals both fail."""
    n, d, datasets = 100, 1.0, 200
    truth = {"accuracy": norm.cdf(d / 2), "roc_auc": norm.cdf(d / np.sqrt(2))}
    rng = np.random.default_rng(10)
    y = np.repeat([0, 1], n)
    covered = dict.fromkeys(truth, 0)
    for k in range(datasets):
        logits = np.concatenate([rng.normal(d / 2, 1, n), rng.normal(-d / 2, 1, n)])
        intervals = bootstrap_intervals(y, 1 / (1 + np.exp(-logits)), n_resamples=400, seed=k)
        for name, value in truth.items():
            covered[name] += intervals[name].low <= value <= intervals[name].high
    low, high = binom.ppf(0.001, datasets, 0.95), binom.isf(0.001, datasets, 0.95)
    for name, hits in covered.items():
        assert low <= hits <= high, f"{name}: {hits} of {datasets} intervals cover the true value"
