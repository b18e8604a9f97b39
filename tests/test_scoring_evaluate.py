"""The scores of one split from the estimator's per-sample P(real): the fixed rule, the cut chosen
on valid images, and what a one-class set keeps."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from jpegai_fd.model.decision import choose_decision
from jpegai_fd.scoring.evaluate import evaluate_split
from jpegai_fd.scoring.settings import ScoringSettings

PATCHES = 16


def shifted_patches(n: int, seed: int):
    """Labels (half fake) and per-patch P(real) that all sit above 0.5: fakes a little lower."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.array([0, 1], dtype=np.int8), n // 2)
    groups = np.repeat(np.arange(n), PATCHES)
    p_real = np.clip(0.72 + 0.06 * (y[groups] - 0.5) + 0.04 * rng.standard_normal(len(groups)), 0.51, 1)
    return y, p_real, groups


def test_cuts_chosen_on_valid_undo_a_shift_the_fixed_vote_cannot():
    settings = ScoringSettings(bootstrap_resamples=200)
    y_valid, p_valid, groups_valid = shifted_patches(60, 0)
    decision = choose_decision(y_valid, p_valid, groups_valid, 60, settings)
    y, p_real, groups = shifted_patches(80, 1)
    m = evaluate_split(y, p_real, groups, 80, decision, settings).metrics
    assert m["accuracy"] == 0.5 and m["accuracy_fake"] == 0.0  # every patch votes real at 0.5
    assert m["balanced_accuracy_at_valid"] > 0.9 and m["roc_auc"] > 0.9
    assert m["accuracy_at_valid_ci_low"] <= m["accuracy_at_valid"] <= m["accuracy_at_valid_ci_high"]
    assert m["ece_calibrated"] < m["ece"]


def test_a_one_class_set_keeps_its_per_class_accuracy_only():
    settings = ScoringSettings(bootstrap_resamples=100)
    y, p_real, groups = shifted_patches(40, 2)
    decision = choose_decision(y, p_real, groups, 40, settings)
    fakes = np.flatnonzero(y == 0)
    rows = np.isin(groups, fakes)
    remap = np.searchsorted(fakes, groups[rows])
    m = evaluate_split(y[fakes], p_real[rows], remap, len(fakes), decision, settings).metrics
    assert {"accuracy_fake_at_valid", "accuracy_at_valid", "n_fake"} <= set(m)
    for two_class in ("roc_auc", "average_precision", "eer", "balanced_accuracy_at_valid", "roc_auc_ci_low"):
        assert two_class not in m
    assert m["n_real"] == 0 and m["accuracy_at_valid"] == m["accuracy_fake_at_valid"]


def test_settings_refuse_bad_values_naming_the_key():
    with pytest.raises(ValidationError, match="calibration"):
        ScoringSettings(calibration="platt")
    with pytest.raises(ValidationError, match="bootstrap_resamples"):
        ScoringSettings(bootstrap_resamples=-3)
    with pytest.raises(ValidationError, match="target_fpr"):
        ScoringSettings(target_fpr=0.6)
