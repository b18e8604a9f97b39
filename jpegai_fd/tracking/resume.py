"""``tracking.resume=true``: skip a job whose config (same config hash) already FINISHED in the experiment.
A finished run of another sweep is copied (metrics, params) as a child of this one, tag ``jpegai_fd.reused_from``."""

import json
import logging

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from mlflow.tracking.context.registry import resolve_tags  # tags plus MLflow context tags (source, user, git)
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from jpegai_fd.tracking.connection import check_tracking_uri
from jpegai_fd.tracking.mlflow_run import run_name
from jpegai_fd.tracking.settings import JobPlace, JobRecord, TrackingSettings
from jpegai_fd.tracking.sweep import CONFIG_HASH, REUSED_FROM, ROLE, latest_run, parent_run_id, record_outcome

log = logging.getLogger(__name__)


def reuse(tracking: TrackingSettings, record: JobRecord, place: JobPlace, done) -> str:
    """Make finished run ``done`` count for the current sweep; return the run id that now does."""
    if (parent := parent_run_id(place)) is None or done.data.tags.get(MLFLOW_PARENT_RUN_ID) == parent:
        return done.info.run_id
    client = MlflowClient(tracking.uri)
    tags = {**record.factors, ROLE: "job", CONFIG_HASH: record.config_hash, REUSED_FROM: done.info.run_id}
    tags[MLFLOW_PARENT_RUN_ID] = parent
    name = run_name(tracking, record, place)
    copy = client.create_run(done.info.experiment_id, run_name=name, tags=resolve_tags(tags))
    metrics = [Metric(k, v, done.info.start_time, 0) for k, v in done.data.metrics.items()]
    client.log_batch(copy.info.run_id, metrics=metrics, params=[Param(k, v) for k, v in done.data.params.items()])
    client.set_terminated(copy.info.run_id, "FINISHED")
    return copy.info.run_id


def resume_finished(tracking: TrackingSettings, record: JobRecord, place: JobPlace) -> dict[str, float] | None:
    """With an identical finished run: ``results.json`` (skipped), the sweep's outcome and its ``test/*`` metrics."""
    check_tracking_uri(tracking.uri)
    client = MlflowClient(tracking.uri)
    exp = client.get_experiment_by_name(tracking.experiment)
    query = f"tags.`{CONFIG_HASH}` = '{record.config_hash}' and attributes.status = 'FINISHED'"
    done = latest_run(client, exp.experiment_id, query) if exp is not None else None
    if done is None:
        return None
    run_id = reuse(tracking, record, place, done)
    metrics = {k: v for k, v in done.data.metrics.items() if k.startswith("test/")}
    log.info("resume: this config already finished in run %s; skipping the job", done.info.run_id)
    summary = {"status": "skipped", "run_id": run_id, "reused_from": done.info.run_id}
    summary |= {"factors": record.factors, "metrics": metrics}
    if place.output_dir is not None:
        (place.output_dir / "results.json").write_text(json.dumps(summary, indent=2, default=float))
    record_outcome(place, "skipped", run_id=run_id, reused_from=done.info.run_id)
    return metrics
