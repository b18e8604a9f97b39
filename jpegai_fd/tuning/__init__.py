"""Hyperparameter tuning with Optuna run inside the job (:func:`jpegai_fd.tuning.study.tune`).

Only the settings are imported here, so that checking a config does not load Optuna or scikit-learn.
"""

from jpegai_fd.tuning.settings import PrunerSettings, TuningSettings

__all__ = ["PrunerSettings", "TuningSettings"]
