"""Calibration on validation scores: both methods lower ECE and Brier of a miscalibrated model on
new images; the reliability diagram; clear errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score

from jpegai_fd.errors import UserError
from jpegai_fd.scoring.calibration import Calibrator, calibration_change, reliability_figure


def _overconfident(rng, n):
    """Labels (1 real, 0 fake) drawn from a true P(fake) = sigmoid(z); the model reports
    sigmoid(3 z + 1): overconfident and biased towards fake."""
    z = rng.normal(0, 1.5, n)
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-z)), 0, 1)
    return y, 1 / (1 + np.exp(-(3 * z + 1)))


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibration_lowers_ece_and_brier_on_test_images(method):
    rng = np.random.default_rng(5)
    y_valid, p_valid = _overconfident(rng, 2000)
    y_test, p_test = _overconfident(rng, 4000)
    calibrated = Calibrator(method).fit(y_valid, p_valid).transform(p_test)
    change = calibration_change(y_test, p_test, calibrated)
    assert change["ece_before"] > 0.1
    assert change["ece_after"] < change["ece_before"] / 3
    assert change["brier_after"] < change["brier_before"]
    assert ((0 <= calibrated) & (calibrated <= 1)).all()
    if method == "sigmoid":  # monotone: the ranking, hence the AUC, is unchanged
        assert roc_auc_score(y_test == 0, calibrated) == pytest.approx(roc_auc_score(y_test == 0, p_test))


def test_platt_recovers_the_true_probability():
    rng = np.random.default_rng(6)
    y, p = _overconfident(rng, 20000)
    z = np.linspace(-2, 2, 5)
    calibrated = Calibrator("sigmoid").fit(y, p).transform(1 / (1 + np.exp(-(3 * z + 1))))
    np.testing.assert_allclose(calibrated, 1 / (1 + np.exp(-z)), atol=0.03)


def test_reliability_figure_draws_each_curve():
    rng = np.random.default_rng(7)
    y, p = _overconfident(rng, 500)
    fig = reliability_figure(y, {"raw": p, "calibrated": Calibrator().fit(y, p).transform(p)}, "demo")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels[0] == "perfect" and labels[1].startswith("raw (ECE ") and labels[2].startswith("calibrated (ECE ")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_bad_method_and_one_class_validation_are_one_clear_error():
    with pytest.raises(UserError, match="invalid calibration method 'beta'; allowed values: sigmoid, isotonic"):
        Calibrator("beta")
    with pytest.raises(UserError, match="needs real and fake validation images; got 3 real and 0 fake"):
        Calibrator().fit(np.ones(3), np.array([0.1, 0.2, 0.3]))
