"""Scores a forensic lab can trust: metrics with fake as the positive class, validation-chosen
thresholds, calibration, bootstrap intervals, paired tests and the dataset shortcut audit.

Every function takes plain arrays. Labels follow the dataset (``jpegai_fd.datasets.split``):
**1 = real, 0 = fake**; scores are **P(fake)** (higher = more likely fake), and an image is called
fake when its score is at or above the threshold. :mod:`labels` holds that convention in one place.
"""

from jpegai_fd.scoring.labels import FAKE, REAL, decide, is_fake

__all__ = ["FAKE", "REAL", "decide", "is_fake"]
