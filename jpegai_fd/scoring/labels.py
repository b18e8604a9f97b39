"""The label convention of the scoring layer, in one place.

Datasets label images 1 = real, 0 = fake (the Kaggle CSVs). The detector's positive class is
**fake**: ROC, AP, EER and TPR-at-FPR treat fake as positive, a "false alarm" is a real image called
fake, and every score is P(fake). Decisions go back to dataset labels so they compare with ``y_true``.
"""

from __future__ import annotations

import numpy as np

FAKE = 0
REAL = 1


def is_fake(y_true: np.ndarray) -> np.ndarray:
    """Boolean mask of the fake images (the positive class) among dataset labels."""
    return np.asarray(y_true) == FAKE


def decide(p_fake: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Dataset labels (int8: 0 fake, 1 real) from P(fake): fake when the score is >= ``threshold``.

    At 0.5 this is the existing argmax rule (a sample is real when P(real) > 0.5).
    """
    return np.where(np.asarray(p_fake) >= threshold, FAKE, REAL).astype(np.int8)
