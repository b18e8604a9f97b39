"""How per-sample scores of the fitted estimator become an image's P(fake) and label.

The job and the saved model use the same :class:`Decision`, so a model predicts its images exactly as
its run scored its test images. Without a threshold it is the fixed rule (reported as ``test/accuracy``;
:func:`jpegai_fd.features.vote.majority_vote`: a sample votes real above 0.5, the majority decides;
one sample per image: P(fake) > 0.5 is fake). A job saves the cuts its valid images chose
(:func:`jpegai_fd.scoring.choose.choose_decision`), objects of
:mod:`jpegai_fd.scoring.threshold` (:class:`Threshold`: one sample per image) or
:mod:`jpegai_fd.scoring.vote` (:class:`VoteThreshold`: the multi-patch vote), and a fitted
:class:`~jpegai_fd.scoring.calibration.Calibrator` maps the thresholded score to a calibrated P(fake);
all are pickled with the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jpegai_fd.features.vote import majority_vote


@dataclass
class Decision:
    """``threshold``: None (the fixed 0.5 rule), a ``Threshold`` or a ``VoteThreshold``;
    ``calibrator``: None or a fitted ``Calibrator`` (labels are decided on the raw score)."""

    threshold: object | None = None
    calibrator: object | None = None

    @property
    def cut(self) -> float:
        """The cut on :meth:`score` (images at or above it are fake); 0.5 for the fixed rule."""
        if self.threshold is None:
            return 0.5
        return float(self.threshold.share.value if hasattr(self.threshold, "patch_cut") else self.threshold.value)

    def score(self, p_real: np.ndarray, groups: np.ndarray, n_images: int) -> np.ndarray:
        """The raw image score the rule thresholds (float64, higher = more fake): mean P(fake) of the
        image's samples, or for a vote threshold the share of its patches voting fake."""
        p_real = np.asarray(p_real, dtype=np.float64)
        if self.threshold is not None and hasattr(self.threshold, "patch_cut"):
            from jpegai_fd.scoring.vote import fake_vote_share

            return fake_vote_share(1.0 - p_real, groups, n_images, self.threshold.patch_cut)
        counts = np.bincount(groups, minlength=n_images)
        return 1.0 - np.bincount(groups, weights=p_real, minlength=n_images) / np.maximum(counts, 1)

    def apply(self, p_real: np.ndarray, groups: np.ndarray, n_images: int) -> tuple[np.ndarray, np.ndarray]:
        """(P(fake) per image float64, fake per image bool) from ``p_real`` (the estimator's P(label 1 =
        real) per sample) and ``groups`` (the image index of each sample)."""
        p_real = np.asarray(p_real, dtype=np.float64)
        score = self.score(p_real, groups, n_images)
        if self.threshold is None:
            fake = majority_vote(p_real, groups, n_images)[0] == 0
        else:
            fake = score >= self.cut
        p_fake = self.calibrator.transform(score) if self.calibrator is not None else score
        return np.asarray(p_fake, dtype=np.float64), np.asarray(fake, dtype=bool)

    def describe(self) -> dict:
        """What the model's card says about its rule (JSON)."""
        if self.threshold is None:
            rule = {"rule": "fixed 0.5 (majority vote of samples)"}
        else:
            rule = {**self.threshold.as_dict(), "chosen_on": "valid"}
        return {**rule, "calibration": getattr(self.calibrator, "method", None)}
