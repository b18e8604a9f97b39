"""Datasets label 1 = real, 0 = fake (the Kaggle CSVs); the positive class is fake, every score P(fake)."""

import numpy as np

FAKE = 0
REAL = 1


def is_fake(y_true: np.ndarray) -> np.ndarray:
    return np.asarray(y_true) == FAKE


def decide(p_fake: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Dataset labels (int8: 0 fake, 1 real) from P(fake): fake when >= ``threshold`` (0.5: argmax)."""
    return np.where(np.asarray(p_fake) >= threshold, FAKE, REAL).astype(np.int8)
