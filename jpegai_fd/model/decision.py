"""How per-sample scores become an image's P(fake) and label: the job and the saved model share one pickled
:class:`Decision`, so a model predicts exactly as its run scored its test images."""

from dataclasses import dataclass

import numpy as np

from jpegai_fd.scoring.calibration import Calibrator
from jpegai_fd.scoring.settings import ScoringSettings
from jpegai_fd.scoring.threshold import Threshold, choose_threshold
from jpegai_fd.scoring.vote import VoteThreshold, choose_vote_threshold, fake_vote_share, fixed_rule


@dataclass
class Decision:
    """``threshold``: None (fixed rule), :class:`Threshold` or :class:`VoteThreshold`; ``calibrator``: None or a fit."""

    threshold: Threshold | VoteThreshold | None = None
    calibrator: Calibrator | None = None

    @property
    def cut(self) -> float:
        """The cut on :meth:`score` (images at or above it are fake); 0.5 for the fixed rule."""
        if self.threshold is None:
            return 0.5
        return float(self.threshold.share.value if isinstance(self.threshold, VoteThreshold) else self.threshold.value)

    def score(self, p_real: np.ndarray, groups: np.ndarray, n_images: int) -> np.ndarray:
        """The raw image score the rule thresholds: mean P(fake), or the share of patches voting fake."""
        if isinstance(self.threshold, VoteThreshold):
            p_fake = 1.0 - np.asarray(p_real, dtype=np.float64)
            return fake_vote_share(p_fake, groups, n_images, self.threshold.patch_cut)
        return fixed_rule(p_real, groups, n_images)[0]

    def apply(self, p_real: np.ndarray, groups: np.ndarray, n_images: int) -> tuple[np.ndarray, np.ndarray]:
        """(P(fake), fake) per image from the estimator's P(real) per sample and each sample's image."""
        score = self.score(p_real, groups, n_images)
        fake = fixed_rule(p_real, groups, n_images)[1] if self.threshold is None else score >= self.cut
        p_fake = self.calibrator.transform(score) if self.calibrator is not None else score
        return np.asarray(p_fake, dtype=np.float64), np.asarray(fake, dtype=bool)

    def describe(self) -> dict:
        if self.threshold is None:
            rule = {"rule": "fixed 0.5 (majority vote of samples)"}
        else:
            rule = {**self.threshold.as_dict(), "chosen_on": "valid"}
        return {**rule, "calibration": getattr(self.calibrator, "method", None)}


def choose_decision(
    y_valid: np.ndarray, p_real: np.ndarray, groups: np.ndarray, n_images: int, settings: ScoringSettings
) -> Decision:
    """The rule chosen on the validation images: cut(s) and a calibrator fitted on the score cut."""
    rule = (settings.threshold_rule, settings.target_fpr)
    if len(groups) > n_images:
        p_fake = 1.0 - np.asarray(p_real, dtype=np.float64)
        threshold, score = choose_vote_threshold(y_valid, p_fake, groups, n_images, *rule)
    else:
        score = fixed_rule(p_real, groups, n_images)[0]
        threshold = choose_threshold(y_valid, score, *rule)
    calibrator = None if settings.calibration == "none" else Calibrator(settings.calibration).fit(y_valid, score)
    return Decision(threshold, calibrator)
