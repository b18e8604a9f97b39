"""The held-out rows that early stopping watches, split off the training rows by image."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from jpegai_fd.tuning.cv import image_labels


def validation_split(
    y: np.ndarray, groups: np.ndarray | None, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train_rows, validation_rows) positions into ``y``: about ``fraction`` of the images go to
    validation, stratified by label; all rows of one image (``groups``, default one row per image)
    stay on one side, so patches of an image never watch themselves."""
    groups = np.arange(len(y)) if groups is None else np.asarray(groups)
    images, inverse = np.unique(groups, return_inverse=True)
    image_label = image_labels(y, inverse)
    stratify = image_label if np.bincount(image_label).min() >= 2 else None
    _, val_images = train_test_split(np.arange(len(images)), test_size=fraction, random_state=seed, stratify=stratify)
    is_val = np.isin(inverse, val_images)
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)
