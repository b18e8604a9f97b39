"""Hyperparameter tuning with Optuna run inside the job."""

from jpegai_fd.tuning.cv import grouped_folds
from jpegai_fd.tuning.study import TuningResult, tune

__all__ = ["TuningResult", "grouped_folds", "tune"]
