"""Experiment tracking with MLflow."""

from jpegai_fd.tracking.figures import confusion_figure
from jpegai_fd.tracking.mlflow_run import TrackedRun, factor_tags, flat_params, run_name

__all__ = ["TrackedRun", "confusion_figure", "factor_tags", "flat_params", "run_name"]
