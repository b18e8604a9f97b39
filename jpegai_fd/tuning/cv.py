"""Cross-validation folds that keep every image on one side."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from jpegai_fd.classifiers.holdout import image_labels
from jpegai_fd.errors import UserError


def grouped_folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (fit_index, score_index) pairs, stratified by label; an image's patches share a fold."""

    per_class = np.bincount(image_labels(y, groups), minlength=2)
    if per_class.min() < k:
        raise UserError(
            f"tuning.cv_folds={k} needs at least {k} training images of each class, "
            f"found {per_class.min()}; lower tuning.cv_folds or use more images"
        )
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, groups))
