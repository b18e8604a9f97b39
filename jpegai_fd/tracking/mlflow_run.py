"""One MLflow run per job: tags for the grid factors, the flattened config as params, metrics,
timings, figures and artifacts."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

import mlflow  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

log = logging.getLogger(__name__)
PARAM_VALUE_LIMIT = 6000  # MLflow rejects longer parameter values


def factor_tags(cfg: DictConfig) -> dict[str, str]:
    """The grid factors of a job, as the tags the MLflow UI groups and filters by."""
    return {
        "bpp": str(cfg.bpp),
        "component": cfg.component,
        "preprocess": cfg.preprocess.name,
        "latent": cfg.latent,
        "classifier": cfg.classifier.name,
        "encoder": cfg.encoder.name,
        "dataset": cfg.dataset.name,
    }


def run_name(cfg: DictConfig) -> str:
    t = factor_tags(cfg)
    return cfg.tracking.run_name or f"{t['classifier']}-{t['preprocess']}-{t['component']}-{t['latent']}-bpp{t['bpp']}"


def flat_params(cfg: DictConfig) -> dict[str, str]:
    """The resolved config as dotted keys -> string values (lists kept as their JSON text)."""
    out: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        else:
            text = json.dumps(node) if isinstance(node, (list, dict)) else str(node)
            out[prefix] = text[:PARAM_VALUE_LIMIT]

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return out


class TrackedRun:
    """Context manager around one MLflow run of a job.

    On an exception the run ends FAILED with the error as the ``error`` tag, and the exception
    propagates.
    """

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        self.run = None

    def __enter__(self) -> "TrackedRun":
        mlflow.set_tracking_uri(self.cfg.tracking.uri)
        mlflow.set_experiment(self.cfg.tracking.experiment)
        self.run = mlflow.start_run(run_name=run_name(self.cfg), tags=factor_tags(self.cfg))
        mlflow.log_params(flat_params(self.cfg))
        mlflow.log_text(OmegaConf.to_yaml(self.cfg, resolve=True), "config.yaml")
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None:
            mlflow.set_tag("error", f"{exc_type.__name__}: {exc}"[:5000])
            mlflow.end_run(status="FAILED")
        else:
            mlflow.end_run(status="FINISHED")
        return False

    @property
    def run_id(self) -> str:
        return self.run.info.run_id

    def log_metrics(self, metrics: dict[str, float]) -> None:
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})

    def log_dict(self, data: dict, path: str) -> None:
        mlflow.log_dict(data, path)

    def log_text(self, text: str, path: str) -> None:
        mlflow.log_text(text, path)

    def log_figure(self, figure, path: str) -> None:
        import matplotlib.pyplot as plt

        mlflow.log_figure(figure, path)
        plt.close(figure)
