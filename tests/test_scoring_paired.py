"""Paired comparisons: McNemar's p-value against hand computations (exact and chi-square), the
paired AUC bootstrap, the comparison of a table's runs with its best one, and the per-image score
file that lets any two runs be compared later."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jpegai_fd.scoring import decide
from jpegai_fd.scoring.paired import align_runs, compare_to_best, mcnemar, paired_auc_bootstrap
from jpegai_fd.scoring.per_image import read_scores_csv, scores_csv


def _correct(a_only, b_only, both=20, neither=5):
    a = [True] * a_only + [False] * b_only + [True] * both + [False] * neither
    b = [False] * a_only + [True] * b_only + [True] * both + [False] * neither
    return np.array(a), np.array(b)


def test_mcnemar_exact_for_few_discordant_images():
    t = mcnemar(*_correct(2, 8))
    # 10 discordant images: p = 2 P(X <= 2), X ~ Bin(10, 1/2) = 2 (1 + 10 + 45) / 1024.
    assert t.method == "exact binomial" and t.statistic is None
    assert (t.a_only, t.b_only) == (2, 8)
    assert t.p_value == pytest.approx(112 / 1024)
    assert mcnemar(*_correct(8, 2)).p_value == pytest.approx(112 / 1024)
    assert mcnemar(*_correct(0, 0)).p_value == 1.0
    assert mcnemar(*_correct(5, 5)).p_value == 1.0  # capped


def test_mcnemar_chi_square_with_continuity_correction():
    t = mcnemar(*_correct(10, 30))
    # (|10 - 30| - 1)^2 / 40 = 9.025; the chi-square(1) tail is erfc(sqrt(x / 2)).
    assert t.method == "chi-square, continuity-corrected"
    assert t.statistic == pytest.approx(9.025)
    assert t.p_value == pytest.approx(math.erfc(math.sqrt(9.025 / 2)))


def test_mcnemar_switches_to_chi_square_at_25_discordant_images():
    exact = mcnemar(*_correct(6, 18))  # 24 discordant
    chi = mcnemar(*_correct(6, 19))  # 25 discordant
    assert exact.method == "exact binomial"
    assert exact.p_value == pytest.approx(2 * sum(math.comb(24, k) for k in range(7)) / 2**24)
    assert chi.method.startswith("chi-square") and chi.statistic == pytest.approx(12**2 / 25)


def _runs(rng, n=300):
    y = np.repeat([0, 1], n // 2)
    signal = (y == 0).astype(float)
    strong = 1 / (1 + np.exp(-(3 * (signal - 0.5) + rng.normal(0, 1, n))))
    twin = np.clip(strong + rng.normal(0, 0.002, n), 0, 1)  # the same model, a hair of noise
    weak = 1 / (1 + np.exp(-(0.6 * (signal - 0.5) + rng.normal(0, 1, n))))
    return y, {"strong": strong, "twin": twin, "weak": weak}


def test_paired_bootstrap_on_the_auc_difference():
    y, scores = _runs(np.random.default_rng(12))
    same = paired_auc_bootstrap(y, scores["strong"], scores["strong"], n_resamples=300)
    assert (same.difference, same.low, same.high, same.p_value) == (0, 0, 0, 1)
    far = paired_auc_bootstrap(y, scores["strong"], scores["weak"], n_resamples=300)
    assert far.difference > 0.2 and far.low > 0 and far.p_value < 0.01


def test_compare_to_best_marks_the_differences_that_are_not_significant():
    y, scores = _runs(np.random.default_rng(13))
    runs = {name: {"p_fake": p, "y_pred": decide(p)} for name, p in scores.items()}
    rows = compare_to_best(y, {"weak": runs["weak"], "twin": runs["twin"], "strong": runs["strong"]}, n_resamples=300)
    by_name = {r["name"]: r for r in rows}
    best = rows[0]["name"]
    assert best in ("strong", "twin") and rows[0]["is_best"] and "not_significant" not in rows[0]
    other = "twin" if best == "strong" else "strong"
    assert by_name[other]["not_significant"] is True
    assert by_name["weak"]["not_significant"] is False
    assert by_name["weak"]["mcnemar"]["p_value"] < 0.05 and by_name["weak"]["auc_difference"]["low"] > 0
    assert [r["name"] for r in rows][2] == "weak"  # best first, then by AUC


def test_score_file_round_trip_and_alignment():
    ids = np.array(["a.jpg", "b.jpg", "c.jpg"])
    text = scores_csv(ids, np.array([0, 1, 0]), np.array([0.91, 0.2, 0.4]), np.array([0, 1, 1]))
    assert text.splitlines()[:2] == ["id,label,p_fake,pred,score", "a.jpg,0,0.910000,0,0.910000"]
    one = read_scores_csv(text)
    # A file of a run logged before the score column: read the same, its score is its p_fake.
    old = read_scores_csv("\n".join(",".join(line.split(",")[:4]) for line in text.splitlines()))
    np.testing.assert_allclose(old["score"], one["p_fake"])
    np.testing.assert_array_equal(old["y_pred"], one["y_pred"])
    np.testing.assert_array_equal(one["id"], ids)
    np.testing.assert_allclose(one["p_fake"], [0.91, 0.2, 0.4])
    # The other run scored the images in another order and missed one of them.
    two = read_scores_csv(scores_csv(ids[[2, 0]], np.array([0, 0]), np.array([0.7, 0.6]), np.array([0, 0])))
    shared, y, runs = align_runs({"one": one, "two": two})
    np.testing.assert_array_equal(shared, ["a.jpg", "c.jpg"])
    np.testing.assert_array_equal(y, [0, 0])
    np.testing.assert_allclose(runs["one"]["p_fake"], [0.91, 0.4])
    np.testing.assert_allclose(runs["two"]["p_fake"], [0.6, 0.7])
    relabelled = dict(two, y_true=np.array([1, 0], dtype=np.int8))
    with pytest.raises(ValueError, match="run 'two' labels the shared images differently"):
        align_runs({"one": one, "two": relabelled})
