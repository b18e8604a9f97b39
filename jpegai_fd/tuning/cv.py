"""Cross-validation folds that keep every image on one side."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from jpegai_fd.errors import UserError


def image_labels(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The label of each image (0..max(groups)) from the labels of its samples (int, rounded mean)."""
    return np.rint(np.bincount(groups, weights=y) / np.bincount(groups)).astype(int)


def grouped_folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train_index, validation_index) pairs, stratified by label, grouped by image: all samples
    of one image (its patches) fall in the same fold."""
    per_class = np.bincount(image_labels(y, groups), minlength=2)
    if per_class.min() < k:
        raise UserError(
            f"tuning.cv_folds={k} needs at least {k} training images of each class, "
            f"found {per_class.min()}; lower tuning.cv_folds or use more images"
        )
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, groups))
