"""Metrics, thresholds, calibration, intervals, paired tests, the audit: labels 1 real, 0 fake; scores P(fake)."""

from jpegai_fd.scoring.labels import FAKE, REAL, decide, is_fake

__all__ = ["FAKE", "REAL", "decide", "is_fake"]
