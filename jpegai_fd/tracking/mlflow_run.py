"""One MLflow run per job: tags for the grid factors, the flattened config as params, metrics,
timings, figures and artifacts.

Calls are few and batched: the run is created with its tags, params go in one ``log_batch``, metrics
in another, and artifacts are written to a local folder during the job (the job's Hydra output
folder) and uploaded together when the run ends. If the server stops answering mid-job, the job retries
for ``tracking.retry_s`` and then goes on; its artifacts stay in that folder and the job writes its
results and a journal of the run (``tracking.json``) next to them, for ``python -m jpegai_fd.cli.sync``.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from jpegai_fd.tracking import connection  # noqa: F401  (sets short HTTP retries before mlflow loads)
from jpegai_fd.tracking import interrupts
from jpegai_fd.tracking.connection import check_tracking_uri, is_http, server_healthy, until, wait_for_server

from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID
from tenacity import RetryCallState, Retrying, retry, retry_if_exception_type, stop_after_attempt, wait_incrementing

from jpegai_fd.tracking.names import job_run_name
from jpegai_fd.tracking.settings import JobPlace, JobRecord, TrackingSettings
from jpegai_fd.tracking.sweep import CONFIG_HASH, ROLE, parent_run_id
from jpegai_fd.tracking.ui import mark_training_experiment
from mlflow.tracking.context.registry import resolve_tags

log = logging.getLogger(__name__)
PARAM_VALUE_LIMIT = 6000  # MLflow rejects longer parameter values
REFUSED_RETRIES = 3  # a request a live server refuses: tried this many more times
JOURNAL = "tracking.json"  # in the job's output folder: what the run was sent (read by jpegai_fd.cli.sync)


def run_name(tracking: TrackingSettings, record: JobRecord, place: JobPlace) -> str:
    return tracking.run_name or job_run_name(record.factors, place.overrides)


@retry(  # create_experiment fails when another process created it between our two calls: look again
    retry=retry_if_exception_type(MlflowException),
    stop=stop_after_attempt(5),
    wait=wait_incrementing(0.2, 0.2),
    reraise=True,
)
def ensure_experiment(client: MlflowClient, name: str) -> str:
    """Id of experiment ``name``, created if missing; safe when several processes race to create it."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return exp.experiment_id
    experiment_id = client.create_experiment(name)
    mark_training_experiment(client, experiment_id)  # the UI opens its training-runs view
    return experiment_id


def default_tags(tags: dict[str, str]) -> dict[str, str]:
    """``tags`` plus MLflow's own context tags (source, user, git commit) as the fluent API sets them."""

    return resolve_tags(tags)


class TrackedRun:
    """Context manager around one MLflow run of a job.

    ``local_dir`` (default: a temporary folder) receives every artifact under ``artifacts/`` before
    upload. Inside a tracked multirun the run is a child of the sweep's parent run. On an exception
    the run ends FAILED with the error as the ``error`` tag (KILLED on a KeyboardInterrupt, i.e. Ctrl-C
    or SIGTERM), and the exception propagates.

    A tracking server that stops answering is retried with back-off for ``tracking.retry_s`` seconds
    (also at the start: a job of a sweep then runs without a run); after that the job goes on
    locally and :attr:`lost` holds the reason. Everything the run was sent is also journalled to
    ``<local_dir>/tracking.json`` (ids, tags, params, metrics, final status), from which
    ``python -m jpegai_fd.cli.sync`` uploads what the server missed.
    """

    def __init__(self, tracking: TrackingSettings, record: JobRecord, place: JobPlace = JobPlace()):
        self.tracking, self.record, self.place = tracking, record, place
        local_dir = place.output_dir
        self._temporary = local_dir is None  # outside Hydra: removed once the upload succeeded
        self.local_dir = Path(local_dir) if local_dir else Path(tempfile.mkdtemp(prefix="jpegai_fd_run_"))
        self.artifact_dir = self.local_dir / "artifacts"
        self.client: MlflowClient | None = None
        self.run = None
        self.parent_id: str | None = None
        self.lost: str | None = None
        self.name = run_name(tracking, record, place)
        self.retry_s = tracking.retry_s
        self.journal: dict = {}

    def __enter__(self) -> "TrackedRun":
        uri = self.tracking.uri
        self.parent_id = parent_run_id(self.place)
        tags = {**self.record.factors, ROLE: "job", CONFIG_HASH: self.record.config_hash}
        if self.parent_id:
            tags[MLFLOW_PARENT_RUN_ID] = self.parent_id
        params = self.record.params
        # key: the sync's idempotency key for a run the server never saw
        self.journal = {
            "key": uuid.uuid4().hex,
            "uri": uri,
            "experiment": self.tracking.experiment,
            "parent_run_id": self.parent_id,
            "run_id": None,
            "run_name": self.name,
            "tags": default_tags(tags),
            "params": params,
            "metrics": [],
            "status": "RUNNING",
            "lost": None,
        }
        if is_http(uri) and not wait_for_server(uri, self.retry_s):
            self.lost = f"no tracking server at {uri} for {self.retry_s:.0f}s (tracking.retry_s)"
            log.warning(
                "%s; the job runs without it and keeps its results in %s (python -m jpegai_fd.cli.sync uploads them)",
                self.lost,
                self.local_dir,
            )
        else:
            check_tracking_uri(uri)
            self.client = MlflowClient(uri)
            experiment_id = ensure_experiment(self.client, self.tracking.experiment)
            self.run = self.client.create_run(experiment_id, run_name=self.name, tags=self.journal["tags"])
            self.journal["run_id"] = self.run.info.run_id
            try:
                self.guarded(self.client.log_batch, self.run_id, params=[Param(k, v) for k, v in params.items()])
            except BaseException as exc:  # a Ctrl-C right after the run was created: never leave it RUNNING
                self.__exit__(type(exc), exc, None)
                raise
        self.log_text(self.record.config_yaml, "config.yaml")
        self._write_journal()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            status = "FINISHED"
        else:
            status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
            error = interrupts.reason(exc) if status == "KILLED" else f"{exc_type.__name__}: {exc}"
            self.journal["tags"]["error"] = error[:5000]
        self.journal["status"] = status
        self._write_journal()  # first: a second signal during the upload still leaves the final status here
        if self.artifact_dir.exists():
            self.guarded(self.client and self.client.log_artifacts, self.run_id, str(self.artifact_dir))
        if exc is not None:
            self.guarded(self.client and self.client.set_tag, self.run_id, "error", self.journal["tags"]["error"])
        self.guarded(self.client and self.client.set_terminated, self.run_id, status)
        self._write_journal()
        if self._temporary and self.lost is None:
            shutil.rmtree(self.local_dir, ignore_errors=True)
        return False

    def _write_journal(self) -> None:
        if self._temporary:
            return
        self.journal["lost"] = self.lost
        self.local_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.local_dir / "tracking.json.tmp"
        tmp.write_text(json.dumps(self.journal, indent=1, default=str))
        tmp.replace(self.local_dir / JOURNAL)

    def guarded(self, call, *args, **kwargs) -> None:
        """Run a tracking call. While an HTTP server does not answer, retry it with back-off for up to
        ``retry_s``; after that the server counts as lost (warn once, skip the rest, keep the journal).
        A call that a live server refuses is retried a few times (parallel jobs race, e.g. two creating
        the same dataset row), then only that call is skipped: the run is tagged ``warning.tracking``
        and still ends with its true status, never left RUNNING."""
        if self.lost is not None or call is None:
            return
        uri, deadline = self.tracking.uri, time.monotonic() + self.retry_s
        alive, refused = True, 0

        def again(state: RetryCallState) -> bool:  # retry while the server is down, or a few refusals
            nonlocal alive, refused
            if not isinstance(state.outcome.exception(), Exception):
                return False  # done, or Ctrl-C (propagates)
            left = deadline - time.monotonic()
            alive = not is_http(uri) or server_healthy(uri, timeout=max(0.5, min(3.0, left)))
            refused += alive
            return refused <= REFUSED_RETRIES if alive else left > 0

        def pause(state: RetryCallState) -> float:
            if alive:
                return 0.25 * refused
            error = type(state.outcome.exception()).__name__
            left = max(0.0, deadline - time.monotonic())
            log.warning("MLflow tracking at %s not answering (%s); retrying for up to %.0fs more", uri, error, left)
            return until(deadline)(state)

        try:
            Retrying(retry=again, wait=pause)(call, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001  (any tracking failure: keep the job's results)
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            if alive:
                self._refused(getattr(call, "__name__", "call"), reason)
                return
            self.lost = reason
            log.warning("MLflow tracking at %s failed (%s); results stay in %s", uri, self.lost, self.local_dir)
            self._write_journal()

    def _refused(self, what: str, reason: str) -> None:
        """A call the server refused for good: say so in the log, the journal and on the run itself."""
        log.warning("MLflow refused %s for run %s (%s); the job goes on", what, self.run_id, reason)
        self.journal.setdefault("refused", []).append(f"{what}: {reason}")
        note = f"{what} refused: {reason}"[:5000]
        self.journal["tags"]["warning.tracking"] = note
        try:
            self.client.set_tag(self.run_id, "warning.tracking", note)
        except Exception:  # noqa: BLE001  (best effort: the journal has it)
            pass
        self._write_journal()

    @property
    def run_id(self) -> str | None:
        return self.run.info.run_id if self.run is not None else None

    def _local(self, path: str) -> Path:
        target = self.artifact_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def _log_metrics(self, metrics: list[Metric]) -> None:
        self.journal["metrics"].extend([m.key, m.value, m.timestamp, m.step] for m in metrics)
        self.guarded(self.client and self.client.log_batch, self.run_id, metrics=metrics)

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        now = int(time.time() * 1000)
        self._log_metrics([Metric(k, float(v), now, step) for k, v in metrics.items()])

    def log_series(self, key: str, values, steps) -> None:
        """One metric over steps (e.g. the CV score of each Optuna trial), in one request."""
        now = int(time.time() * 1000)
        self._log_metrics([Metric(key, float(v), now, int(s)) for v, s in zip(values, steps)])

    def set_tags(self, tags: dict[str, str]) -> None:
        self.journal["tags"].update({k: str(v) for k, v in tags.items()})
        self.guarded(
            self.client and self.client.log_batch, self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()]
        )

    def log_params(self, params: dict) -> None:
        """More params (values as text), e.g. the parameters the final model was built with."""
        text = {k: str(v)[:PARAM_VALUE_LIMIT] for k, v in params.items()}
        self.journal["params"].update(text)  # a run kept offline gets them at sync too
        self.guarded(self.client and self.client.log_batch, self.run_id, params=[Param(k, v) for k, v in text.items()])

    def log_dict(self, data: dict, path: str) -> None:
        self._local(path).write_text(json.dumps(data, indent=2, default=float))

    def log_text(self, text: str, path: str) -> None:
        self._local(path).write_text(text)

    def log_figure(self, figure, path: str) -> None:
        import matplotlib.pyplot as plt

        figure.savefig(self._local(path), dpi=100)
        plt.close(figure)
