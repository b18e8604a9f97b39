"""Hyperparameter tuning with Optuna (:mod:`.study`); only the settings are imported here, so that
checking a config does not load Optuna or scikit-learn."""

from jpegai_fd.tuning.settings import PrunerSettings, TuningSettings

__all__ = ["PrunerSettings", "TuningSettings"]
