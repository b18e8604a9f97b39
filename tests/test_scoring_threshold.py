"""Validation-chosen thresholds: hand cases for both rules, a shifted score distribution brought
back to high balanced accuracy, and the multi-patch vote on real demo latents."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from jfd_testing import compose_cfg, tiny_overrides
from jfd_testing import build_group, cached_latents, load_splits
from jfd_testing import build_features as job_features
from jpegai_fd.datasets import screen
from jpegai_fd.encoders import DCTEncoder
from jpegai_fd.errors import UserError
from jpegai_fd.scoring import decide
from jpegai_fd.scoring.threshold import choose_threshold
from jpegai_fd.scoring.vote import choose_vote_threshold, fake_vote_share, majority_vote

# 4 reals (label 1), 2 fakes (label 0); scores = P(fake).
Y = np.array([1, 1, 1, 1, 0, 0])
S = np.array([0.1, 0.2, 0.3, 0.6, 0.5, 0.9])


def test_balanced_accuracy_rule_hand_case():
    t = choose_threshold(Y, S)
    # Calling {0.9, 0.6, 0.5} fake: both fakes, one false alarm -> (1 + 3/4) / 2, the best cut.
    assert t.value == pytest.approx(0.4)  # halfway between 0.5 (fake side) and 0.3 (real side)
    assert t.valid_balanced_accuracy == pytest.approx(0.875)
    assert (t.valid_false_alarm_rate, t.valid_detection_rate) == (0.25, 1.0)
    assert balanced_accuracy_score(Y, decide(S, t.value)) == pytest.approx(0.875)


def test_target_fpr_rule_hand_case():
    t = choose_threshold(Y, S, rule="target_fpr", target_fpr=0.25)  # one false alarm of four allowed
    assert t.value == pytest.approx(0.4) and t.valid_false_alarm_rate == 0.25
    t = choose_threshold(Y, S, rule="target_fpr", target_fpr=0.0)  # none allowed: only 0.9 is fake
    assert t.value == pytest.approx(0.75) and (t.valid_false_alarm_rate, t.valid_detection_rate) == (0, 0.5)
    only_reals = choose_threshold(np.ones(4), S[:4], rule="target_fpr", target_fpr=0.0)
    assert only_reals.value > 0.6 and only_reals.valid_detection_rate is None


def _scores(rng, n, shift):
    """P(fake) of n fakes and n reals: binormal logits (fakes +1, reals -1) plus ``shift``."""
    z = np.concatenate([rng.normal(1, 1, n), rng.normal(-1, 1, n)])
    return np.repeat([0, 1], n), 1 / (1 + np.exp(-(z + shift)))


@pytest.mark.parametrize("shift", [-4.0, 4.0])
def test_shifted_scores_get_their_balanced_accuracy_back(shift):
    rng = np.random.default_rng(3)
    y_valid, p_valid = _scores(rng, 300, shift)
    y_test, p_test = _scores(rng, 1000, shift)
    at_half = balanced_accuracy_score(y_test, decide(p_test, 0.5))
    t = choose_threshold(y_valid, p_valid)
    chosen = balanced_accuracy_score(y_test, decide(p_test, t.value))
    assert at_half < 0.6  # almost every image on one side of 0.5
    assert chosen > 0.8  # the best possible here is Phi(1) = 0.841


def test_target_fpr_holds_on_new_images():
    rng = np.random.default_rng(4)
    y_valid, p_valid = _scores(rng, 2000, 2.0)
    y_test, p_test = _scores(rng, 20000, 2.0)
    t = choose_threshold(y_valid, p_valid, rule="target_fpr", target_fpr=0.01)
    false_alarms = (decide(p_test, t.value)[y_test == 1] == 0).mean()
    assert t.valid_false_alarm_rate <= 0.01
    assert 0.004 < false_alarms < 0.02


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rule": "youden"}, "invalid threshold rule 'youden'"),
        ({"rule": "target_fpr", "target_fpr": 1.5}, "invalid target FPR 1.5"),
    ],
)
def test_bad_rule_settings_are_one_clear_error(kwargs, message):
    with pytest.raises(UserError, match=message):
        choose_threshold(Y, S, **kwargs)


def test_rule_needing_both_classes_names_what_is_missing():
    with pytest.raises(
        UserError, match="needs validation real and fake images; the validation split has 4 real and 0 fake"
    ):
        choose_threshold(np.ones(4), S[:4])


def test_vote_share_counts_fake_votes():
    p_fake = np.array([0.9, 0.1, 0.6, 0.2, 0.2, 0.3])
    groups = np.array([0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(fake_vote_share(p_fake, groups, 2), [2 / 3, 0])
    np.testing.assert_allclose(fake_vote_share(p_fake, groups, 2, patch_cut=0.25), [2 / 3, 1 / 3])


def test_vote_cuts_on_a_one_class_validation_split():
    p_fake = np.array([0.9, 0.1, 0.6, 0.2, 0.2, 0.3, 0.1, 0.0])
    groups = np.repeat(np.arange(4), 2)
    with pytest.raises(UserError, match="pass a fixed patch_cut"):
        choose_vote_threshold(np.ones(4), p_fake, groups, 4, rule="target_fpr", target_fpr=0.0)
    cuts, shares = choose_vote_threshold(
        np.ones(4), p_fake, groups, 4, rule="target_fpr", target_fpr=0.0, patch_cut=0.5
    )
    np.testing.assert_allclose(shares, [0.5, 0.5, 0, 0])
    assert cuts.patch_cut == 0.5 and cuts.share.value > 0.5 and cuts.share.valid_false_alarm_rate == 0


SHIFT = 0.45  # scales every P(fake) below one half: the ranking stays, the fixed 0.5 cut breaks


def test_multi_patch_vote_on_demo_latents_shift_and_fix(tmp_path):
    """Real demo images -> DCT latents in the Zarr cache -> a patch classifier trained on 2 of the 16
    positions, voted over all 16. Every patch's P(fake) is then scaled below one half (a deliberate
    shift, like training and testing on different positions; the demo's fakes are too easy for a
    class weight alone to shift them): the fixed majority vote calls every image real, yet the
    scores still rank the images well. The two cuts chosen on the validation images restore the
    balanced accuracy on the test images."""
    cfg = compose_cfg(
        tiny_overrides(tmp_path, train=30, test=30, size=64)
        + ["dataset.num_per_class.valid=30", "preprocess=multi", "preprocess.num_patches=2", "component=y", "latent=y"]
    )
    train, test = load_splits(cfg)
    valid = screen(build_group(cfg, "dataset").listing("valid"))  # the demo's valid split, cached like the others
    encoder = DCTEncoder()
    groups = {s.name: cached_latents(cfg, s, encoder)[0] for s in (train, valid, test)}
    feats = {name: job_features(cfg, g, train=name == "train") for name, g in groups.items()}
    assert feats["train"].X.shape[0] == 2 * len(train) and feats["test"].X.shape[0] == 16 * len(test)
    model = RandomForestClassifier(
        n_estimators=50, min_samples_leaf=3, class_weight={0: 1, 1: 15}, random_state=0, n_jobs=1
    ).fit(feats["train"].X, feats["train"].y)

    def patch_p_fake(name):
        return SHIFT * model.predict_proba(feats[name].X)[:, list(model.classes_).index(0)]

    y_valid, y_test = groups["valid"].labels, groups["test"].labels
    fs = feats["test"]
    fixed_labels, mean_p_real = majority_vote(1 - patch_p_fake("test"), fs.groups, fs.n_images)
    assert balanced_accuracy_score(y_test, fixed_labels) < 0.6  # the shift
    assert roc_auc_score(y_test == 0, 1 - mean_p_real) > 0.75  # ... of scores that still rank
    cuts, _ = choose_vote_threshold(y_valid, patch_p_fake("valid"), feats["valid"].groups, feats["valid"].n_images)
    assert cuts.patch_cut < 0.5
    shares = fake_vote_share(patch_p_fake("test"), fs.groups, fs.n_images, cuts.patch_cut)
    assert balanced_accuracy_score(y_test, decide(shares, cuts.share.value)) > 0.75  # the fix
