"""Where a user looks at the runs: the experiment's page in the MLflow UI, in its training-runs view.

MLflow 3.x opens an experiment in its GenAI (traces) view unless the URL asks for the classic one
(``workflowType=machine_learning``); new experiments also get the ``mlflow.experimentKind`` tag."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
LEAN_SERVER = "python -m jpegai_fd.cli.server"
DEFAULT_UI = "http://127.0.0.1:5000"


def experiment_url(base: str, experiment_id: str) -> str:
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}?workflowType=machine_learning"


def where_to_look(tracking_uri: str, experiment_id: str) -> str:
    """One line: the UI address of the experiment; for a database URI, the command that serves it first."""
    if tracking_uri.startswith(("http://", "https://")):
        return f"UI: {experiment_url(tracking_uri, experiment_id)}"
    backend = "" if tracking_uri == "sqlite:///mlflow.db" else f" --backend-store-uri {tracking_uri}"
    return f"UI: {LEAN_SERVER}{backend}, then open {experiment_url(DEFAULT_UI, experiment_id)}"


def open_hint(base: str, experiment: str = "jpegai_fd") -> str:
    """What the server prints to open: the experiment's runs if it exists (REST, no mlflow import), else the list."""
    query = urllib.parse.urlencode({"experiment_name": experiment})
    try:
        with urllib.request.urlopen(f"{base}/api/2.0/mlflow/experiments/get-by-name?{query}", timeout=5) as response:
            experiment_id = json.load(response)["experiment"]["experiment_id"]
    except (OSError, ValueError, KeyError):
        return (
            f"Open {base}/#/experiments?workflowType=machine_learning (the sweep summary prints the experiment's page)"
        )
    return f"Open {experiment_url(base, experiment_id)} (experiment {experiment}, the training-runs view)"
