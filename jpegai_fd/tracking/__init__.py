"""Experiment tracking with MLflow: one run per job, one parent run per sweep, resume, figures."""
