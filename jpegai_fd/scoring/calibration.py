"""Calibration of P(fake) (or the vote's share) on the validation images: ``CalibratedClassifierCV`` of a frozen score
column; Platt (``sigmoid``) on the logit or ``isotonic``, both keep the ranking (ties aside)."""

import matplotlib

matplotlib.use("Agg")  # figures are drawn headless; Figure objects are returned, never shown
import numpy as np
from matplotlib.figure import Figure
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.frozen import FrozenEstimator

from jpegai_fd.errors import UserError
from jpegai_fd.scoring.labels import is_fake
from jpegai_fd.scoring.metrics import ECE_BINS, brier_score, expected_calibration_error
from jpegai_fd.scoring.settings import METHODS

_EPS = 1e-6  # P(fake) is clipped to [eps, 1 - eps] before the logit: 0 and 1 stay finite


class ScoreColumn(ClassifierMixin, BaseEstimator):
    """The frozen detector as scikit-learn's calibration sees it: P(fake) in and out (class 1 = fake)."""

    def fit(self, X=None, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X):
        p = np.clip(np.asarray(X, dtype=np.float64)[:, 0], _EPS, 1 - _EPS)
        return np.log(p / (1 - p))

    def predict_proba(self, X):
        p = np.asarray(X, dtype=np.float64)[:, 0]
        return np.column_stack([1 - p, p])

    def predict(self, X):  # unused, but scikit-learn's parameter check asks for it
        return (np.asarray(X)[:, 0] >= 0.5).astype(np.int64)


class Calibrator:
    def __init__(self, method: str = "sigmoid"):
        if method not in METHODS:
            raise UserError(f"invalid calibration method {method!r}; allowed values: {', '.join(METHODS)}")
        self.method = method

    def fit(self, y_true: np.ndarray, p_fake: np.ndarray) -> "Calibrator":
        fake = is_fake(y_true)
        if fake.all() or not fake.any():
            real, fakes = int((~fake).sum()), int(fake.sum())
            raise UserError(f"calibration needs real and fake validation images; got {real} real and {fakes} fake")
        frozen = FrozenEstimator(ScoreColumn().fit())
        # One "fold" of all images: a frozen model needs no folds, and 5 folds would need 5 images per class.
        every = np.arange(len(fake))
        self.model_ = CalibratedClassifierCV(frozen, method=self.method, cv=[(every, every)])
        self.model_.fit(np.asarray(p_fake, dtype=np.float64)[:, None], fake.astype(np.int64))
        return self

    def transform(self, p_fake: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(np.asarray(p_fake, dtype=np.float64)[:, None])[:, 1]


def calibration_change(y_true: np.ndarray, p_raw: np.ndarray, p_calibrated: np.ndarray) -> dict[str, float]:
    scores, pairs = {"ece": expected_calibration_error, "brier": brier_score}, {"before": p_raw, "after": p_calibrated}
    return {f"{name}_{when}": score(y_true, p) for name, score in scores.items() for when, p in pairs.items()}


def reliability_figure(
    y_true: np.ndarray, curves: dict[str, np.ndarray], title: str = "", n_bins: int = ECE_BINS
) -> Figure:
    """Reliability diagram (one line per ``curves`` entry: name -> P(fake)) over the scores' histogram."""
    fake = is_fake(y_true)
    fig = Figure(figsize=(4.8, 5.2), dpi=100)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    for name, p in curves.items():
        share, mean_p = calibration_curve(fake, p, n_bins=n_bins, strategy="uniform")
        ece = expected_calibration_error(y_true, p, n_bins)
        top.plot(mean_p, share, marker="o", markersize=3, label=f"{name} (ECE {ece:.3f})")
        bottom.hist(p, bins=n_bins, range=(0, 1), histtype="step", label=name)
    top.set(ylabel="share of fakes", xlim=(0, 1), ylim=(0, 1))
    top.legend(fontsize=8, loc="upper left")
    top.set_title(title or "reliability (fake = positive)", fontsize=9)
    bottom.set(xlabel="predicted P(fake)", ylabel="images")
    fig.tight_layout()
    return fig
