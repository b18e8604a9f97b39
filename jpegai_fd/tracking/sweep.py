"""What ties a multirun's jobs together, through files in ``<sweep dir>/.jpegai_fd/`` (any launcher): the parent run's
id (``parent_run.json``) and each job's outcome (``jobs/<num>.json``), from which the launcher closes the parent."""

import hashlib
import json
import os
import time
import traceback
import uuid
from pathlib import Path

import yaml

from jpegai_fd.errors import UserError
from jpegai_fd.tracking.settings import JobPlace

ROLE = "jpegai_fd.role"  # "sweep" on parent runs, "job" on job runs
CONFIG_HASH = "jpegai_fd.config_hash"
SWEEP_KEY = "jpegai_fd.sweep_key"  # identity of a sweep's overrides: a rerun of the same sweep has the same key
REUSED_FROM = "jpegai_fd.reused_from"
UNTUNED_TAG = "warning.untuned"  # why a job ran no search (its fixed parameters were used)
# Overrides that change how a sweep is tracked, not what it computes.
TRACKING_ONLY = ("tracking.resume", "tracking.sweep_name", "tracking.uri", "tracking.experiment")
STATE_DIR = ".jpegai_fd"


def latest_run(client, experiment_id: str, filter_string: str):
    runs = client.search_runs([experiment_id], filter_string, order_by=["attributes.start_time DESC"], max_results=1)
    return runs[0] if runs else None


def end_running_children(client, experiment_id: str, parent_id: str, status: str, error: str) -> list[str]:
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID  # mlflow waits: the command line imports this module

    query = f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}' and attributes.status = 'RUNNING'"
    running = client.search_runs([experiment_id], filter_string=query, max_results=10000)
    for run in running:
        client.set_tag(run.info.run_id, "error", error)
        client.set_terminated(run.info.run_id, status)
    return [r.info.run_id for r in running]


def end_parent(client, run_id: str, counts, status: str) -> None:
    """Tag a parent run with its jobs' outcome counts (``jobs.<outcome>``) and end it with ``status``."""
    for outcome in ("finished", "skipped", "failed", "killed"):
        client.set_tag(run_id, f"jobs.{outcome}", str(counts[outcome]))
    client.set_terminated(run_id, status)


def sweep_status(counts) -> str:
    return "FAILED" if counts.get("failed") else "KILLED" if counts.get("killed") else "FINISHED"


def sweep_overrides(task_overrides) -> list[str]:
    return [o for o in task_overrides if o.lstrip("+~").partition("=")[0] not in TRACKING_ONLY]


def sweep_key(task_overrides) -> str:
    return hashlib.sha256("\n".join(sorted(sweep_overrides(task_overrides))).encode()).hexdigest()[:16]


def sweep_name(name: str | None, task_overrides) -> str:
    """``name`` (``tracking.sweep_name``), or ``sweep`` plus the sweep's overrides, start time and a short id."""
    if name:
        return str(name)
    text = " ".join(sweep_overrides(task_overrides)) or "(defaults)"
    # `` @ 2026-12-01 10:31 #3fa2`` (local start time, 4 random hex digits): two sweeps of the same overrides differ
    suffix = time.strftime(" @ %Y-%m-%d %H:%M") + f" #{uuid.uuid4().hex[:4]}"
    return f"sweep {text}"[: 250 - len(suffix)] + suffix


def state_dir(sweep_dir: str | Path) -> Path:
    return Path(sweep_dir) / STATE_DIR


def write_parent(sweep_dir: str | Path, run_id: str, experiment_id: str) -> None:
    d = state_dir(sweep_dir)
    (d / "jobs").mkdir(parents=True, exist_ok=True)
    (d / "parent_run.json").write_text(json.dumps({"run_id": run_id, "experiment_id": experiment_id}))


def claim(sweep_dir: str | Path, task_overrides, resume: bool) -> None:
    """Claim ``sweep_dir`` with an O_EXCL file: only ``tracking.resume=true`` of the same overrides shares it."""
    d = state_dir(sweep_dir)
    d.mkdir(parents=True, exist_ok=True)
    key = sweep_key(task_overrides)
    path = d / "claim"
    older = Path(sweep_dir) / "multirun.yaml"
    if older.exists() and not path.exists():  # a sweep from before claims: its identity from Hydra's record
        try:
            path.write_text(sweep_key(yaml.safe_load(older.read_text())["hydra"]["overrides"]["task"]))
        except (OSError, KeyError, TypeError, yaml.YAMLError):
            path.write_text("")
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        if resume and path.read_text() == key:
            return
        raise UserError(
            f"hydra.sweep.dir={sweep_dir} already holds a sweep ({path}); give a new folder, or leave hydra.sweep.dir "
            "out (the default folder is new for every sweep); tracking.resume=true may rerun that same sweep there"
        ) from None
    with os.fdopen(fd, "w") as f:
        f.write(key)


def parent_run_id(place: JobPlace) -> str | None:
    if place.sweep_dir is None:
        return None
    path = state_dir(place.sweep_dir) / "parent_run.json"
    return json.loads(path.read_text())["run_id"] if path.exists() else None


def record_outcome(place: JobPlace, status: str, **details) -> None:
    if place.sweep_dir is None:
        return
    d = state_dir(place.sweep_dir) / "jobs"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{place.num}.json").write_text(json.dumps({"job": place.num, "status": status, **details}, default=str))


def read_outcomes(sweep_dir: str | Path) -> list[dict]:
    found = [json.loads(p.read_text()) for p in (state_dir(sweep_dir) / "jobs").glob("*.json")]
    return sorted(found, key=lambda o: int(o["job"]))  # 10 after 9


def clear_outcomes(sweep_dir: str | Path) -> None:
    for p in (state_dir(sweep_dir) / "jobs").glob("*.json"):
        p.unlink()


def _record_end(place: JobPlace, status: str, error: str) -> None:
    """``results.json`` (status and error) in the job's folder, and its outcome for the sweep."""
    if place.output_dir is not None:
        (place.output_dir / "results.json").write_text(json.dumps({"status": status, "error": error}, indent=2))
    record_outcome(place, status, error=error[:2000], overrides=place.override_dirname)


def record_failure(place: JobPlace, exc: BaseException) -> None:
    if place.output_dir is not None:
        (place.output_dir / "error.txt").write_text("".join(traceback.format_exception(exc)))
    _record_end(place, "failed", f"{type(exc).__name__}: {exc}")


def record_interrupt(place: JobPlace, exc: BaseException) -> None:  # Ctrl-C or SIGTERM
    _record_end(place, "killed", f"{type(exc).__name__}: {exc or 'interrupted'}")
