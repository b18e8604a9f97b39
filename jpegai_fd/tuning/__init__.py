"""Hyperparameter tuning with Optuna (:mod:`.study`); only the settings load here (checks need no Optuna)."""

from jpegai_fd.tuning.settings import PrunerSettings, TuningSettings

__all__ = ["PrunerSettings", "TuningSettings"]
