"""Metrics (fake positive), valid-chosen thresholds, calibration, bootstrap intervals, paired tests and
the shortcut audit, on plain arrays: labels 1 = real, 0 = fake, scores P(fake)."""

from jpegai_fd.scoring.labels import FAKE, REAL, decide, is_fake

__all__ = ["FAKE", "REAL", "decide", "is_fake"]
