"""Registers a job's model (``runs:/<run_id>/model``) in the MLflow Model Registry, the alias on the new
version: ``--run``, or the FINISHED job of ``--sweep`` with the highest ``--metric`` (ties: the earliest).
The version's tags: the run's factors, ``metric.<name>``, ``run_id`` and the metric it was chosen by."""

import argparse
import math
import os
import sys

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from jpegai_fd.errors import UserError
from jpegai_fd.report.runs import load_runs
from jpegai_fd.tracking.connection import add_tracking_uri, check_tracking_uri
from jpegai_fd.tracking.sweep import REUSED_FROM
from jpegai_fd.tracking.sweep_summary import FACTORS


def best_run_id(uri: str, experiment: str, sweep: str, metric: str) -> tuple[str, float]:
    """(run id, value) of the sweep's FINISHED job with the highest ``metric``."""
    runs, parent = load_runs(uri, experiment, sweep)
    if runs.empty:
        raise UserError(f"sweep {sweep!r} has no FINISHED job runs in experiment {experiment!r} at {uri}")
    if metric not in runs or runs[metric].isna().all():
        known = sorted(c for c in runs.columns if "/" in c)
        raise UserError(
            f"no job of sweep {parent.info.run_name!r} logged --metric {metric!r}; logged: {', '.join(known)}"
        )
    best = runs.sort_values("start_time").loc[runs[metric].idxmax()]  # idxmax: first of the maxima
    return str(best["run_id"]), float(best[metric])


def promote(uri: str, run_id: str, name: str, alias: str, chosen_by: str | None = None):
    """Register ``runs:/<run_id>/model`` as a new version of ``name`` with ``alias``; returns the version."""
    client = MlflowClient(uri)
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise UserError(f"no run {run_id!r} at {uri}; pass a job's run id (MLflow UI) or --sweep") from None
    # A job skipped by tracking.resume is a copy without artifacts: its model is the original run's.
    source = run.data.tags.get(REUSED_FROM, run_id)
    if "MLmodel" not in {a.path.rsplit("/", 1)[-1] for a in client.list_artifacts(source, "model")}:
        raise UserError(f"run {source} has no model/ (runs before model logging, or a failed job); pick another run")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    tags = {f: run.data.tags[f] for f in FACTORS if f in run.data.tags}
    tags |= {f"metric.{k}": f"{v:.6g}" for k, v in sorted(run.data.metrics.items()) if math.isfinite(v)}
    tags |= {"run_id": run_id, **({"chosen_by": chosen_by} if chosen_by else {})}
    tags |= {"model_run_id": source} if source != run_id else {}
    version = mlflow.register_model(f"runs:/{source}/model", name, tags=tags, await_registration_for=60)
    client.set_registered_model_alias(name, alias, version.version)
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jpegai_fd.cli.promote", description=__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--sweep", help="latest, a sweep's parent run id or its name")
    which.add_argument("--run", help="a job's run id")
    parser.add_argument("--metric", default="test/roc_auc", help="higher is better (default: test/roc_auc)")
    parser.add_argument("--name", default="jpegai_fd-detector", help="registered model name")
    parser.add_argument("--alias", default="champion", help="alias set on the new version")
    add_tracking_uri(parser)
    parser.add_argument("--experiment", default="jpegai_fd")
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        check_tracking_uri(args.tracking_uri)
        run_id, chosen = args.run, None
        if args.sweep:
            run_id, value = best_run_id(args.tracking_uri, args.experiment, args.sweep, args.metric)
            chosen = f"{args.metric}={value:.6g} (best of sweep {args.sweep})"
        version = promote(args.tracking_uri, run_id, args.name, args.alias, chosen)
    except UserError as exc:
        print(f"jpegai_fd.cli.promote: error: {exc}", file=sys.stderr)
        return 2
    why, uri = f" ({chosen})" if chosen else "", f"models:/{args.name}@{args.alias}"
    print(f"registered run {run_id} as {args.name} version {version.version} with alias @{args.alias}{why}: {uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
