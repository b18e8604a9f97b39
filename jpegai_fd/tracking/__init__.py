"""Experiment tracking with MLflow: one run per job, one parent run per sweep, resume, figures.

The names below are loaded on first use: ``jpegai_fd.cli.server`` and the report only need the light
``connection`` module, not mlflow, scikit-learn and matplotlib, which the others pull in.
"""

import importlib

_HOME = {
    "confusion_figure": "figures",
    "curves_figure": "figures",
    "importance_figure": "figures",
    "roc_figure": "figures",
    "latent_shapes": "job_artifacts",
    "log_evaluation": "job_artifacts",
    "log_importances": "job_artifacts",
    "log_trials": "job_artifacts",
    "log_training_curves": "job_artifacts",
    "log_dataset_manifest": "job_artifacts",
    "TrackedRun": "mlflow_run",
    "factor_tags": "mlflow_run",
    "flat_params": "mlflow_run",
    "run_name": "mlflow_run",
    "resume_finished": "resume",
    "record_failure": "sweep",
    "record_outcome": "sweep",
}
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
