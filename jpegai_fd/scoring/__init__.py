"""Scores a forensic lab can trust: metrics with fake as the positive class, validation-chosen
thresholds, calibration, bootstrap intervals, paired tests and the dataset shortcut audit. Functions
take plain arrays: labels 1 = real, 0 = fake, scores P(fake) (:mod:`.labels`).
"""

from jpegai_fd.scoring.labels import FAKE, REAL, decide, is_fake

__all__ = ["FAKE", "REAL", "decide", "is_fake"]
