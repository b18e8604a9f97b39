"""One MLflow run per job in few batched calls; artifacts uploaded when the run ends. A server that stops
answering is retried for ``tracking.retry_s``, then the job goes on and journals the run (``tracking.json``) for
``python -m jpegai_fd.cli.sync``."""

import contextlib
import json
import logging
import shutil
import tempfile
import time
import uuid
from pathlib import Path

# connection first: it sets short HTTP retries before mlflow loads
from jpegai_fd.tracking.connection import check_tracking_uri, is_http, server_healthy, until, wait_for_server
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.tracking.context.registry import resolve_tags
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID
from tenacity import RetryCallState, Retrying, retry, retry_if_exception_type, stop_after_attempt, wait_incrementing

from jpegai_fd.tracking import interrupts
from jpegai_fd.tracking.settings import PARAM_VALUE_LIMIT, SLURM_JOB, JobPlace, JobRecord, TrackingSettings
from jpegai_fd.tracking.sweep import CONFIG_HASH, ROLE, latest_run, parent_run_id
from jpegai_fd.tracking.sweep_summary import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, FACTORS

log = logging.getLogger(__name__)
REFUSED_RETRIES = 3  # a request a live server refuses: tried this many more times
JOURNAL = "tracking.json"  # in the job's output folder: what the run was sent (read by jpegai_fd.cli.sync)
# The UI's run-name column is narrow: a job's name leads with the factors its command line sets.
NAME_ORDER = FACTORS[:5]  # after those set on the command line


def job_run_name(factors: dict[str, str], task_overrides=None) -> str:
    """``flatten-bpp6-yuv-y_hat-rf``: the factors set on the command line first (the UI's column is narrow)."""
    keys = [o.lstrip("+~").partition("=")[0] for o in task_overrides or ()]
    first = [k for k in keys if k in FACTORS and k in factors]
    return "-".join(f"bpp{factors[f]}" if f == "bpp" else factors[f] for f in dict.fromkeys([*first, *NAME_ORDER]))


def run_name(tracking: TrackingSettings, record: JobRecord, place: JobPlace) -> str:
    return tracking.run_name or job_run_name(record.factors, place.overrides)


RACED = retry_if_exception_type(MlflowException)  # another process created the experiment between our calls


@retry(retry=RACED, stop=stop_after_attempt(5), wait=wait_incrementing(0.2, 0.2), reraise=True)
def ensure_experiment(client: MlflowClient, name: str) -> str:
    """Id of experiment ``name``, created if missing; safe when several processes race to create it."""
    if (exp := client.get_experiment_by_name(name)) is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return exp.experiment_id
    experiment_id = client.create_experiment(name)
    client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)  # the UI: training-runs view
    return experiment_id


class TrackedRun:
    """One job's MLflow run; artifacts wait in ``<output_dir>/artifacts/``. An exception ends it FAILED with tag
    ``error`` (KILLED on Ctrl-C or SIGTERM) and propagates; a lost server sets :attr:`lost`."""

    def __init__(self, tracking: TrackingSettings, record: JobRecord, place: JobPlace = JobPlace()):
        self.tracking, self.record, self.place, self.retry_s = tracking, record, place, tracking.retry_s
        self._temporary = place.output_dir is None  # outside Hydra: removed once the upload succeeded
        self.local_dir = Path(place.output_dir or tempfile.mkdtemp(prefix="jpegai_fd_run_"))
        self.artifact_dir = self.local_dir / "artifacts"
        self.client: MlflowClient | None = None
        self.run, self.parent_id, self.lost, self.journal = None, None, None, {}
        self.name = run_name(tracking, record, place)

    def __enter__(self) -> "TrackedRun":
        uri = self.tracking.uri
        self.parent_id = parent_run_id(self.place)
        tags = {**self.record.factors, ROLE: "job", CONFIG_HASH: self.record.config_hash}
        if self.parent_id:
            tags[MLFLOW_PARENT_RUN_ID] = self.parent_id
        if self.place.slurm_job:
            tags[SLURM_JOB] = self.place.slurm_job
        params = self.record.params
        # key: the sync's idempotency key for a run the server never saw
        self.journal = dict(key=uuid.uuid4().hex, uri=uri, experiment=self.tracking.experiment, run_id=None)
        self.journal |= dict(parent_run_id=self.parent_id, run_name=self.name, tags=resolve_tags(tags), params=params)
        self.journal |= dict(metrics=[], status="RUNNING", lost=None)
        if is_http(uri) and not wait_for_server(uri, self.retry_s):
            self.lost = f"no tracking server at {uri} for {self.retry_s:.0f}s (tracking.retry_s)"
            kept = f"keeps its results in {self.local_dir} (python -m jpegai_fd.cli.sync uploads them)"
            log.warning("%s; the job runs without it and %s", self.lost, kept)
        else:
            check_tracking_uri(uri)
            self.client = MlflowClient(uri)
            experiment_id = ensure_experiment(self.client, self.tracking.experiment)
            new_run = dict(run_name=self.name, tags=self.journal["tags"])
            self.run = self._continued(experiment_id) or self.client.create_run(experiment_id, **new_run)
            self.journal["run_id"] = self.run.info.run_id
        try:
            self._log_batch(params=[Param(k, v) for k, v in params.items()])
            self.log_text(self.record.config_yaml, "config.yaml")
            self._write_journal()
        except BaseException as exc:  # Ctrl-C or a full disk right after the run was created: never leave it RUNNING
            self.__exit__(type(exc), exc, None)
            raise
        return self

    def _continued(self, experiment_id: str):
        """A requeued SLURM job continues its first attempt's run, RUNNING again, without that attempt's error."""
        if not self.place.slurm_restarts:
            return None
        match = f"tags.`{SLURM_JOB}` = '{self.place.slurm_job}' and tags.`{CONFIG_HASH}` = '{self.record.config_hash}'"
        if (run := latest_run(self.client, experiment_id, match)) is not None:
            log.info("SLURM started this job again: it continues run %s", run.info.run_id)
            self.client.update_run(run.info.run_id, status="RUNNING")
            if "error" in run.data.tags:
                self.client.delete_tag(run.info.run_id, "error")
        return run

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
        tmp = self.local_dir / "tracking.json.tmp"
        try:
            self.local_dir.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.journal, indent=1, default=str))
            tmp.replace(self.local_dir / JOURNAL)
        except OSError as exc:  # a full or read-only folder: the run's status still reaches the server
            log.warning("cannot write %s (%s)", tmp, exc.strerror)

    def guarded(self, call, *args, **kwargs) -> None:
        """Run a tracking call: a silent server is retried for ``retry_s``, then lost (warn once, skip the rest); a
        call a live server refuses (parallel jobs race) is retried a few times, then skipped (``warning.tracking``)."""
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
        log.warning("MLflow refused %s for run %s (%s); the job goes on", what, self.run_id, reason)
        self.journal.setdefault("refused", []).append(f"{what}: {reason}")
        note = f"{what} refused: {reason}"[:5000]
        self.journal["tags"]["warning.tracking"] = note
        with contextlib.suppress(Exception):  # best effort: the journal has it
            self.client.set_tag(self.run_id, "warning.tracking", note)
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
        self._log_batch(metrics=metrics)

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        now = int(time.time() * 1000)
        self._log_metrics([Metric(k, float(v), now, step) for k, v in metrics.items()])

    def log_series(self, key: str, values, steps) -> None:  # one metric over steps, in one request
        now = int(time.time() * 1000)
        self._log_metrics([Metric(key, float(v), now, int(s)) for v, s in zip(values, steps)])

    def set_tags(self, tags: dict[str, str]) -> None:
        self.journal["tags"].update({k: str(v) for k, v in tags.items()})
        self._log_batch(tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_params(self, params: dict) -> None:
        text = {k: str(v)[:PARAM_VALUE_LIMIT] for k, v in params.items()}
        self.journal["params"].update(text)  # a run kept offline gets them at sync too
        self._log_batch(params=[Param(k, v) for k, v in text.items()])

    def _log_batch(self, **entities) -> None:
        self.guarded(self.client and self.client.log_batch, self.run_id, **entities)

    def log_dict(self, data: dict, path: str) -> None:
        self.log_text(json.dumps(data, indent=2, default=float), path)

    def log_text(self, text: str, path: str) -> None:
        self._local(path).write_text(text)

    def log_figure(self, figure, path: str) -> None:
        import matplotlib.pyplot as plt

        figure.savefig(self._local(path), dpi=100)
        plt.close(figure)
