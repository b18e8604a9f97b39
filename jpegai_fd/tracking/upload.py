"""Upload what a tracking server missed, from the jobs' output folders (``python -m jpegai_fd.cli.sync``).

A job journals its run to ``<job folder>/tracking.json`` (:class:`jpegai_fd.tracking.TrackedRun`):
ids, tags, params, metrics, final status and whether the server was lost. For each job that lost its
server, or whose run the server still shows RUNNING, this logs what is missing (params and metrics the
run lacks, all tags, the ``artifacts/`` folder) to its run, or to a new child of the sweep's parent
when the job never reached the server, and ends the run with the job's final status (KILLED when the
job died before it recorded one). The journal then records the sync, and the run carries tag
``jpegai_fd.sync_key``, so a second sync does nothing. Finally a sweep's parent still RUNNING is ended.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from jpegai_fd.errors import UserError
from jpegai_fd.tracking.mlflow_run import JOURNAL, ensure_experiment
from jpegai_fd.tracking.sweep import STATE_DIR, end_running_children, read_outcomes, sweep_status

SYNC_KEY = "jpegai_fd.sync_key"
NO_RESULT = "KILLED: the job ended without recording a result (ended by jpegai_fd.cli.sync)"


def _is_job(path: Path) -> bool:
    return (path / ".hydra").is_dir()


def job_folders(path: Path) -> tuple[Path | None, list[Path]]:
    """(sweep folder or None, job folders) of a sweep output folder or of one job folder."""
    if not path.is_dir():
        raise UserError(
            f"{path}: no such folder; give a sweep output folder (outputs/multiruns/...) or a job "
            "folder (outputs/runs/..., or one numbered folder of a sweep)"
        )
    if _is_job(path):
        parent = path.parent
        return (parent if (parent / STATE_DIR / "parent_run.json").exists() else None), [path]
    jobs = sorted(
        (p for p in path.iterdir() if p.is_dir() and _is_job(p)),
        key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name),
    )
    if not jobs and not (path / STATE_DIR).is_dir():
        raise UserError(f"{path} is not a jpegai_fd job or sweep output folder (no .hydra/ or {STATE_DIR}/ in it)")
    return path, jobs


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _write(path: Path, journal: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(journal, indent=1, default=str))
    tmp.replace(path)


def sync_job(client: MlflowClient, job_dir: Path) -> str:
    """Bring one job's run up to date from its journal; returns what was done, in a few words."""
    path = job_dir / JOURNAL
    if not path.exists():
        return "no run to sync (the job stopped before it started one)"
    journal = json.loads(path.read_text())
    if journal.get("synced"):
        return f"already synced to run {journal['synced']['run_id']}"
    final = "KILLED" if journal["status"] == "RUNNING" else journal["status"]
    tags = dict(journal["tags"])
    if journal["status"] == "RUNNING":
        tags["error"] = NO_RESULT
    run = None
    if journal["run_id"] is None:  # never reached the server: a new run, unless an interrupted sync made it
        experiment_id = ensure_experiment(client, journal["experiment"])
        found = client.search_runs([experiment_id], f"tags.`{SYNC_KEY}` = '{journal['key']}'", max_results=1)
        run = (
            found[0]
            if found
            else client.create_run(experiment_id, run_name=journal["run_name"], tags={**tags, SYNC_KEY: journal["key"]})
        )
    else:
        run = client.get_run(journal["run_id"])
        if run.info.status != "RUNNING" and not journal.get("lost"):
            return f"up to date (run {run.info.run_id} {run.info.status})"
    run_id = run.info.run_id
    params = [Param(k, v) for k, v in journal["params"].items() if k not in run.data.params]
    metrics = [
        Metric(k, float(v), int(ts), int(step)) for k, v, ts, step in journal["metrics"] if k not in run.data.metrics
    ]
    for batch in _chunks(params, 100):
        client.log_batch(run_id, params=batch)
    for batch in _chunks(metrics, 1000):
        client.log_batch(run_id, metrics=batch)
    for batch in _chunks([RunTag(k, str(v)) for k, v in {**tags, SYNC_KEY: journal["key"]}.items()], 100):
        client.log_batch(run_id, tags=batch)
    if (job_dir / "artifacts").is_dir():
        client.log_artifacts(run_id, str(job_dir / "artifacts"))
    client.set_terminated(run_id, final)
    journal["synced"] = {"run_id": run_id, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _write(path, journal)
    return f"uploaded to run {run_id} ({final}; {len(metrics)} metrics, {len(params)} params)"


def close_parent(client: MlflowClient, sweep_dir: Path) -> str | None:
    """End the sweep's parent run if it is still RUNNING (and its children left RUNNING, KILLED)."""
    path = sweep_dir / STATE_DIR / "parent_run.json"
    if not path.exists():
        return None
    ids = json.loads(path.read_text())
    parent = client.get_run(ids["run_id"])
    if parent.info.status != "RUNNING":
        return f"parent run {ids['run_id']} already {parent.info.status}"
    orphans = end_running_children(client, ids["experiment_id"], ids["run_id"], "KILLED", NO_RESULT)
    counts = Counter(o["status"] for o in read_outcomes(sweep_dir))
    counts["killed"] += len(orphans)
    for status in ("finished", "skipped", "failed", "killed"):
        client.set_tag(ids["run_id"], f"jobs.{status}", str(counts[status]))
    status = sweep_status(counts)
    client.set_terminated(ids["run_id"], status)
    return f"parent run {ids['run_id']} ended {status}" + (
        f" ({len(orphans)} run(s) left RUNNING ended KILLED)" if orphans else ""
    )


def job_tracking(job_dir: Path) -> tuple[str | None, str | None]:
    """(tracking URI, MLflow parent id) a job logged to, from its journal; (None, None) without one."""
    path = job_dir / JOURNAL
    if not path.exists():
        return None, None
    journal = json.loads(path.read_text())
    return journal["uri"], journal["tags"].get(MLFLOW_PARENT_RUN_ID)
