"""Experiment tracking with MLflow: one run per job, one parent run per sweep, resume, figures."""

from jpegai_fd.tracking.figures import confusion_figure, importance_figure, roc_figure
from jpegai_fd.tracking.job_artifacts import latent_shapes, log_evaluation, log_importances, log_trials
from jpegai_fd.tracking.mlflow_run import TrackedRun, factor_tags, flat_params, run_name
from jpegai_fd.tracking.resume import resume_finished
from jpegai_fd.tracking.sweep import record_failure, record_outcome

__all__ = ["TrackedRun", "confusion_figure", "factor_tags", "flat_params", "importance_figure", "latent_shapes",
           "log_evaluation", "log_importances", "log_trials", "record_failure", "record_outcome",
           "resume_finished", "roc_figure", "run_name"]
