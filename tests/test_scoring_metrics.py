"""Split metrics with fake as the positive class: a hand-computed case, one-class splits, and the
label convention checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from jpegai_fd.scoring import decide
from jpegai_fd.scoring.metrics import expected_calibration_error, prefixed, split_metrics

# 3 fakes (label 0) and 4 reals (label 1); P(fake) per image.
Y = np.array([0, 0, 0, 1, 1, 1, 1])
P = np.array([0.9, 0.8, 0.4, 0.7, 0.3, 0.2, 0.1])


def test_hand_computed_case():
    m = split_metrics(Y, P, threshold=0.5)
    # At 0.5: fakes 0.9, 0.8 caught (0.4 missed); reals 0.3, 0.2, 0.1 right, 0.7 a false alarm.
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["accuracy_fake"] == pytest.approx(2 / 3)
    assert m["accuracy_real"] == pytest.approx(3 / 4)
    assert m["false_alarm_rate"] == pytest.approx(1 / 4)
    assert m["balanced_accuracy"] == pytest.approx(17 / 24)
    assert m["roc_auc"] == pytest.approx(11 / 12)  # 11 of 12 (fake, real) pairs ordered
    assert m["average_precision"] == pytest.approx((1 + 1 + 3 / 4) / 3)  # precision at each fake
    assert m["eer"] == pytest.approx(1 / 4)  # FPR 1/4 while the miss rate goes 1/3 -> 0
    assert m["tpr_at_fpr_1pct"] == pytest.approx(2 / 3)  # no false alarm allowed: 0.9, 0.8 caught
    assert m["tpr_at_fpr_5pct"] == pytest.approx(2 / 3)
    assert m["brier"] == pytest.approx((0.01 + 0.04 + 0.36 + 0.49 + 0.09 + 0.04 + 0.01) / 7)
    assert (m["n_fake"], m["n_real"]) == (3, 4)
    # Two bins: [0, .5) holds 0.4 (fake) and 3 reals: mean .25 = share .25; [.5, 1] mean .8, share 2/3.
    assert expected_calibration_error(Y, P, n_bins=2) == pytest.approx(3 / 7 * (0.8 - 2 / 3))


def test_threshold_moves_the_decisions_not_the_ranking():
    low = split_metrics(Y, P, threshold=0.35)  # now 0.4 is caught too, no new false alarm
    assert low["accuracy_fake"] == 1 and low["false_alarm_rate"] == pytest.approx(1 / 4)
    assert low["roc_auc"] == split_metrics(Y, P)["roc_auc"]


def test_eer_is_where_false_alarms_equal_misses():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 5000)
    p = 1 / (1 + np.exp(-np.concatenate([rng.normal(1, 1, 5000), rng.normal(-1, 1, 5000)])))
    # Binormal, symmetric: the equal-error cut is 0, error Phi(-1) = 0.1587.
    assert split_metrics(y, p)["eer"] == pytest.approx(0.1587, abs=0.01)


@pytest.mark.parametrize(
    "label, kept, dropped",
    [
        (1, {"accuracy_real", "false_alarm_rate"}, {"accuracy_fake"}),
        (0, {"accuracy_fake"}, {"accuracy_real", "false_alarm_rate"}),
    ],
)
def test_one_class_split_keeps_what_is_defined(label, kept, dropped):
    y = np.full(5, label)
    p = np.array([0.1, 0.6, 0.2, 0.3, 0.9])
    m = split_metrics(y, p)
    two_class = {"balanced_accuracy", "roc_auc", "average_precision", "eer", "tpr_at_fpr_1pct", "tpr_at_fpr_5pct"}
    assert not (two_class | dropped) & set(m)
    assert kept | {"accuracy", "ece", "brier"} <= set(m)
    assert all(np.isfinite(v) for v in m.values())
    if label == 1:
        assert m["false_alarm_rate"] == pytest.approx(2 / 5)  # 0.6 and 0.9 called fake
    else:
        assert m["accuracy_fake"] == pytest.approx(2 / 5)


def test_fake_is_the_positive_class():
    new = split_metrics(Y, P)
    assert new["roc_auc"] == pytest.approx(skm.roc_auc_score(Y == 0, P))
    assert new["accuracy"] == pytest.approx(skm.accuracy_score(Y, decide(P)))
    assert new["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(Y, decide(P)))
    assert new["accuracy_fake"] == pytest.approx(skm.recall_score(Y, decide(P), pos_label=0))  # recall of fakes
    assert prefixed({"roc_auc": 1.0}, "test", "_at_valid") == {"test/roc_auc_at_valid": 1.0}


def test_bad_arrays_are_refused():
    with pytest.raises(ValueError):
        split_metrics(Y, P[:-1])
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        split_metrics(Y, P + 0.5)
