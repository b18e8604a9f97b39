"""Image-level decisions from patch-level scores (multiple-patch preprocessing at test time)."""

from __future__ import annotations

import numpy as np


def majority_vote(scores: np.ndarray, groups: np.ndarray, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-image label and score from per-sample scores.

    ``scores``: P(label 1) per sample; a sample votes 1 when its score is above 0.5 (as argmax does).
    ``groups``: the image index (0..n_images-1) of each sample. Returns (labels int8, mean score):
    the label is the majority of votes; a tie goes to 1 when the mean score is above 0.5, else 0.
    """
    counts = np.bincount(groups, minlength=n_images)
    ones = np.bincount(groups, weights=(scores > 0.5).astype(np.float64), minlength=n_images)
    mean = np.bincount(groups, weights=scores, minlength=n_images) / np.maximum(counts, 1)
    labels = np.where(2 * ones > counts, 1, np.where(2 * ones < counts, 0, (mean > 0.5).astype(int)))
    return labels.astype(np.int8), mean
