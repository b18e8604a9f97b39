"""The held-out rows that early stopping watches, split off the training rows by image."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split


def image_labels(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The label of each image (0..max(groups)) from the labels of its samples (int, rounded mean)."""
    return np.rint(np.bincount(groups, weights=y) / np.bincount(groups)).astype(int)


def holdout_split(
    y: np.ndarray, groups: np.ndarray | None, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(fit_rows, held_out_rows) positions into ``y``: about ``fraction`` of the images held out,
    stratified by label; an image's rows (``groups``, default one per image) stay on one side."""
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    images, inverse = np.unique(groups, return_inverse=True)
    image_label = image_labels(y, inverse)
    stratify = image_label if np.bincount(image_label).min() >= 2 else None
    _, held_out = train_test_split(np.arange(len(images)), test_size=fraction, random_state=seed, stratify=stratify)
    is_held_out = np.isin(inverse, held_out)
    return np.flatnonzero(~is_held_out), np.flatnonzero(is_held_out)
