"""`python -m jpegai_fd.cli.sync OUTPUT_DIR... [--tracking-uri URI]`: upload, once, what jobs kept locally
while the tracking server was down, and end runs left RUNNING.

Each job's journal (``tracking.json``) and tag ``jpegai_fd.sync_key`` make a second sync a no-op."""

import argparse
import json
import logging
import sys
import time
from collections import Counter
from functools import cache
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from jpegai_fd.errors import UserError
from jpegai_fd.tracking.connection import check_tracking_uri
from jpegai_fd.tracking.mlflow_run import JOURNAL, ensure_experiment
from jpegai_fd.tracking.sweep import STATE_DIR, end_parent, end_running_children, read_outcomes, sweep_status

SYNC_KEY = "jpegai_fd.sync_key"
NO_RESULT = "KILLED: the job ended without recording a result (ended by jpegai_fd.cli.sync)"


def job_folders(path: Path) -> tuple[Path | None, list[Path]]:
    """(sweep folder or None, job folders) of a sweep output folder or of one job folder."""
    if not path.is_dir():
        raise UserError(
            f"{path}: no such folder; give a sweep output folder (outputs/multiruns/...) or a job "
            "folder (outputs/runs/..., or one numbered folder of a sweep)"
        )
    if (path / ".hydra").is_dir():
        return (path.parent if (path.parent / STATE_DIR / "parent_run.json").exists() else None), [path]
    jobs = sorted(
        (p for p in path.iterdir() if (p / ".hydra").is_dir()),
        key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name),
    )
    if not jobs and not (path / STATE_DIR).is_dir():
        raise UserError(f"{path} is not a jpegai_fd job or sweep output folder (no .hydra/ or {STATE_DIR}/ in it)")
    return path, jobs


def sync_job(client: MlflowClient, job_dir: Path) -> str:
    """Bring one job's run up to date from its journal; returns what was done."""
    path = job_dir / JOURNAL
    if not path.exists():
        return "no run to sync (the job stopped before it started one)"
    journal = json.loads(path.read_text())
    if journal.get("synced"):
        return f"already synced to run {journal['synced']['run_id']}"
    died = journal["status"] == "RUNNING"
    final = "KILLED" if died else journal["status"]
    tags = {**journal["tags"], **({"error": NO_RESULT} if died else {}), SYNC_KEY: journal["key"]}
    if journal["run_id"] is None:  # never reached the server: a new run, unless an interrupted sync made it
        experiment_id = ensure_experiment(client, journal["experiment"])
        found = client.search_runs([experiment_id], f"tags.`{SYNC_KEY}` = '{journal['key']}'", max_results=1)
        run = found[0] if found else client.create_run(experiment_id, run_name=journal["run_name"], tags=tags)
    else:
        run = client.get_run(journal["run_id"])
        if run.info.status != "RUNNING" and not journal.get("lost"):
            return f"up to date (run {run.info.run_id} {run.info.status})"
    run_id = run.info.run_id
    params = [Param(k, v) for k, v in journal["params"].items() if k not in run.data.params]
    metrics = [Metric(k, float(v), int(t), int(s)) for k, v, t, s in journal["metrics"] if k not in run.data.metrics]
    # MLflow's client splits a batch over its request limits itself.
    client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag(k, str(v)) for k, v in tags.items()])
    if (job_dir / "artifacts").is_dir():
        client.log_artifacts(run_id, str(job_dir / "artifacts"))
    client.set_terminated(run_id, final)
    journal["synced"] = {"run_id": run_id, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    path.with_suffix(".tmp").write_text(json.dumps(journal, indent=1, default=str))
    path.with_suffix(".tmp").replace(path)
    return f"uploaded to run {run_id} ({final}; {len(metrics)} metrics, {len(params)} params)"


def close_parent(client: MlflowClient, sweep_dir: Path) -> str | None:
    """End the sweep's parent run if still RUNNING (its children left RUNNING: KILLED)."""
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
    end_parent(client, ids["run_id"], counts, status := sweep_status(counts))
    killed = f" ({len(orphans)} run(s) left RUNNING ended KILLED)" if orphans else ""
    return f"parent run {ids['run_id']} ended {status}{killed}"


def sync(folders: list[Path], tracking_uri: str | None = None) -> list[str]:
    found = [job_folders(f) for f in folders]  # every folder checked before anything is uploaded

    @cache
    def client_for(uri: str) -> MlflowClient:
        check_tracking_uri(uri)
        return MlflowClient(uri)

    lines = []
    for sweep_dir, jobs in found:
        uri = tracking_uri
        for job in jobs:
            journal = job / JOURNAL  # the URI the job logged to
            job_uri = tracking_uri or (json.loads(journal.read_text())["uri"] if journal.exists() else None)
            uri = uri or job_uri
            done = sync_job(client_for(job_uri), job) if job_uri else "no run to sync (no tracking.json)"
            lines.append(f"{job}: {done}")
        if sweep_dir is not None and uri and (closed := close_parent(client_for(uri), sweep_dir)):
            lines.append(f"{sweep_dir}: {closed}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jpegai_fd.cli.sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, metavar="OUTPUT_DIR", help="sweep or job output folder")
    parser.add_argument("--tracking-uri", help="log to this URI instead of the one each job used")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        for line in sync(args.folders, args.tracking_uri):
            print(line)
    except UserError as exc:
        print(f"jpegai_fd.cli.sync: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
