"""The decision rule of a trained model, chosen on the validation images only: the cut(s) and the
calibrator that :class:`jpegai_fd.model.Decision` applies to any later image."""

from __future__ import annotations

import numpy as np

from jpegai_fd.model.decision import Decision
from jpegai_fd.scoring.settings import ScoringSettings


def choose_decision(
    y_valid: np.ndarray, p_real: np.ndarray, groups: np.ndarray, n_images: int, settings: ScoringSettings
) -> Decision:
    """``y_valid``: labels of the validation images (1 real, 0 fake); ``p_real``/``groups``: the fitted
    estimator's P(real) per validation sample and the image of each sample. Several samples per image
    (the multi-patch vote): both the patch cut and the share cut; one sample per image: a cut on P(fake).
    The calibrator (``settings.calibration``, unless ``none``) is fitted on the scores the cut applies to."""
    from jpegai_fd.scoring.calibration import Calibrator
    from jpegai_fd.scoring.threshold import choose_threshold
    from jpegai_fd.scoring.vote import choose_vote_threshold

    p_fake = 1.0 - np.asarray(p_real, dtype=np.float64)
    if len(groups) > n_images:
        threshold, score = choose_vote_threshold(
            y_valid, p_fake, groups, n_images, settings.threshold_rule, settings.target_fpr
        )
    else:
        score = Decision().score(p_real, groups, n_images)
        threshold = choose_threshold(y_valid, score, settings.threshold_rule, settings.target_fpr)
    calibrator = None if settings.calibration == "none" else Calibrator(settings.calibration).fit(y_valid, score)
    return Decision(threshold, calibrator)
