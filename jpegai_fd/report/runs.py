"""Read the finished job runs of an experiment (optionally of one sweep) into a table."""

from __future__ import annotations

import math

import pandas as pd
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from jpegai_fd.errors import UserError
from jpegai_fd.tracking.sweep import CONFIG_HASH, ROLE, UNTUNED_TAG, latest_run

FACTORS = ("classifier", "bpp", "component", "preprocess", "latent", "encoder", "dataset")
# The test split's manifest hash: runs with the same one scored the same images (paired comparisons).
TEST_MANIFEST = "dataset.test_manifest"


def _search(client: MlflowClient, experiment_id: str, filter_string: str) -> list:
    runs, token = [], None
    while True:
        page = client.search_runs(
            [experiment_id], filter_string, max_results=1000, page_token=token, order_by=["attributes.start_time DESC"]
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def find_sweep(client: MlflowClient, experiment_id: str, sweep: str):
    """The parent run of ``sweep``: ``latest``, a run id, or a sweep (parent run) name."""
    base = f"tags.`{ROLE}` = 'sweep'"
    if sweep == "latest":
        latest = latest_run(client, experiment_id, base)
        runs = [latest] if latest else []
    else:
        runs = [r for r in _search(client, experiment_id, base) if sweep in (r.info.run_id, r.info.run_name)][:1]
    if not runs:
        raise UserError(
            f"no sweep {sweep!r} in this experiment; pass --sweep latest, a parent run id or a sweep name "
            "(the parent runs' names in the MLflow UI)"
        )
    return runs[0]


def load_runs(uri: str, experiment: str, sweep: str | None = None) -> tuple[pd.DataFrame, object | None]:
    """FINISHED job runs as rows (run_id, start_time, config_hash, test_manifest, factors, metrics), one
    per distinct config (the latest), and the sweep's parent run (None without ``sweep``)."""
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        raise UserError(f"no experiment {experiment!r} at {uri}; check --experiment (tracking.experiment of the jobs)")
    parent = find_sweep(client, exp.experiment_id, sweep) if sweep else None
    query = f"tags.`{ROLE}` = 'job' and attributes.status = 'FINISHED'"
    if parent is not None:
        query += f" and tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent.info.run_id}'"
    rows = []
    for run in _search(client, exp.experiment_id, query):
        row = {
            "run_id": run.info.run_id,
            "start_time": run.info.start_time,
            "config_hash": run.data.tags.get(CONFIG_HASH, run.info.run_id),
            "test_manifest": run.data.tags.get(TEST_MANIFEST),
        }
        row.update({f: run.data.tags.get(f) for f in FACTORS})
        score = run.data.metrics.get("cv/best_score")
        # Tagged (fixed parameters), or a nan score (a run from before such searches ended FAILED).
        row["untuned"] = run.data.tags.get(UNTUNED_TAG) or (
            "no completed trial" if score is not None and math.isnan(score) else None
        )
        row.update(run.data.metrics)
        row.update({f"params.{k}": v for k, v in run.data.params.items()})  # labels runs by what varied
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df, parent
    df["bpp"] = pd.to_numeric(df["bpp"])
    df = df.sort_values("start_time").drop_duplicates("config_hash", keep="last")
    return df.reset_index(drop=True), parent


def split_untuned(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(tuned runs, runs without a search result): a run tagged ``warning.untuned`` (fixed parameters)
    or whose ``cv/best_score`` is nan (older runs whose every trial failed); see :func:`load_runs`."""
    if df.empty:
        return df, df
    bad = df["untuned"].notna()
    return df[~bad].reset_index(drop=True), df[bad].reset_index(drop=True)
