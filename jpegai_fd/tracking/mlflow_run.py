"""One MLflow run per job: tags for the grid factors, the flattened config as params, metrics,
timings, figures and artifacts.

Calls are few and batched: the run is created with its tags, params go in one ``log_batch``, metrics
in another, and artifacts are written to a local folder during the job (the job's Hydra output
folder) and uploaded together when the run ends. If the server stops answering mid-job, the job goes
on; its artifacts stay in that folder and the job writes its results next to them.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from jpegai_fd.tracking import connection  # noqa: F401  (sets short HTTP retries before mlflow loads)
from jpegai_fd.tracking.connection import check_tracking_uri

from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from jpegai_fd.tracking.ui import mark_training_experiment  # noqa: E402
from jpegai_fd.tracking.sweep import CONFIG_HASH, ROLE, config_hash, parent_run_id  # noqa: E402

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
        # encoder=jpegai only: chroma format changes latents; random-weight opt-in runs are flagged.
        **({"encoder.chroma": str(cfg.encoder.chroma)} if "chroma" in cfg.encoder else {}),
        **({"science.valid": "false"} if cfg.encoder.get("allow_missing_weights") else {}),
    }


def run_name(cfg: DictConfig) -> str:
    from jpegai_fd.tracking.names import current_task_overrides, job_run_name

    return cfg.tracking.run_name or job_run_name(factor_tags(cfg), current_task_overrides())


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


def ensure_experiment(client: MlflowClient, name: str) -> str:
    """Id of experiment ``name``, created if missing; safe when several processes race to create it."""
    for attempt in range(5):
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                client.restore_experiment(exp.experiment_id)
            return exp.experiment_id
        try:
            experiment_id = client.create_experiment(name)
            mark_training_experiment(client, experiment_id)  # the UI opens its training-runs view
            return experiment_id
        except MlflowException:
            time.sleep(0.2 * (attempt + 1))  # another process created it between our two calls
    raise MlflowException(f"could not create or find MLflow experiment {name!r}")


def default_tags(tags: dict[str, str]) -> dict[str, str]:
    """``tags`` plus MLflow's own context tags (source, user, git commit) as the fluent API sets them."""
    from mlflow.tracking.context.registry import resolve_tags

    return resolve_tags(tags)


class TrackedRun:
    """Context manager around one MLflow run of a job.

    ``local_dir`` (default: a temporary folder) receives every artifact under ``artifacts/`` before
    upload. Inside a tracked multirun the run is a child of the sweep's parent run. On an exception
    the run ends FAILED with the error as the ``error`` tag, and the exception propagates. Tracking
    errors after the start do not stop the job: :attr:`lost` then holds the first one.
    """

    def __init__(self, cfg: DictConfig, local_dir: str | Path | None = None):
        self.cfg = cfg
        self._temporary = local_dir is None  # outside Hydra: removed once the upload succeeded
        self.local_dir = Path(local_dir) if local_dir else Path(tempfile.mkdtemp(prefix="jpegai_fd_run_"))
        self.artifact_dir = self.local_dir / "artifacts"
        self.client: MlflowClient | None = None
        self.run = None
        self.parent_id: str | None = None
        self.lost: str | None = None

    def __enter__(self) -> "TrackedRun":
        uri = self.cfg.tracking.uri
        check_tracking_uri(uri)
        self.client = MlflowClient(uri)
        experiment_id = ensure_experiment(self.client, self.cfg.tracking.experiment)
        self.parent_id = parent_run_id()
        tags = {**factor_tags(self.cfg), ROLE: "job", CONFIG_HASH: config_hash(self.cfg)}
        if self.parent_id:
            tags[MLFLOW_PARENT_RUN_ID] = self.parent_id
        self.run = self.client.create_run(experiment_id, run_name=run_name(self.cfg), tags=default_tags(tags))
        self.client.log_batch(self.run_id, params=[Param(k, v) for k, v in flat_params(self.cfg).items()])
        self.log_text(OmegaConf.to_yaml(self.cfg, resolve=True), "config.yaml")
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.artifact_dir.exists():
            self._safe(self.client.log_artifacts, self.run_id, str(self.artifact_dir))
        if exc is not None:
            self._safe(self.client.set_tag, self.run_id, "error", f"{exc_type.__name__}: {exc}"[:5000])
            self._safe(self.client.set_terminated, self.run_id, "FAILED")
        else:
            self._safe(self.client.set_terminated, self.run_id, "FINISHED")
        if self._temporary and self.lost is None:
            shutil.rmtree(self.local_dir, ignore_errors=True)
        return False

    def _safe(self, call, *args, **kwargs) -> None:
        """Run a tracking call; after the first failure, warn once and skip the rest."""
        if self.lost is not None:
            return
        try:
            call(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001  (any tracking failure: keep the job's results)
            self.lost = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            log.warning("MLflow tracking at %s failed (%s); results stay in %s", self.cfg.tracking.uri,
                        self.lost, self.local_dir)

    @property
    def run_id(self) -> str:
        return self.run.info.run_id

    def _local(self, path: str) -> Path:
        target = self.artifact_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        now = int(time.time() * 1000)
        self._safe(self.client.log_batch, self.run_id,
                   metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()])

    def log_series(self, key: str, values, steps) -> None:
        """One metric over steps (e.g. the CV score of each Optuna trial), in one request."""
        now = int(time.time() * 1000)
        self._safe(self.client.log_batch, self.run_id,
                   metrics=[Metric(key, float(v), now, int(s)) for v, s in zip(values, steps)])

    def set_tags(self, tags: dict[str, str]) -> None:
        self._safe(self.client.log_batch, self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_dict(self, data: dict, path: str) -> None:
        self._local(path).write_text(json.dumps(data, indent=2, default=float))

    def log_text(self, text: str, path: str) -> None:
        self._local(path).write_text(text)

    def log_figure(self, figure, path: str) -> None:
        import matplotlib.pyplot as plt

        figure.savefig(self._local(path), dpi=100)
        plt.close(figure)
