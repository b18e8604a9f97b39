"""Read the finished job runs of an experiment (optionally of one sweep) into a table."""

import math

import mlflow
import pandas as pd
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from jpegai_fd.errors import UserError
from jpegai_fd.tracking.sweep import CONFIG_HASH, ROLE, UNTUNED_TAG

FACTORS = ("classifier", "bpp", "component", "preprocess", "latent", "encoder", "dataset")
# The test split's manifest hash: runs with the same one scored the same images (paired comparisons).
TEST_MANIFEST = "dataset.test_manifest"
SCORE = "cv/best_score"
SOURCE_TAGS = ["holdout", "train_sources"]  # jobs with several training sources (jpegai_fd.report.holdout)


def _search(experiment_id: str, filter_string: str) -> pd.DataFrame:
    return mlflow.search_runs([experiment_id], filter_string, order_by=["attributes.start_time DESC"])


def find_sweep(experiment_id: str, sweep: str):
    sweeps = _search(experiment_id, f"tags.`{ROLE}` = 'sweep'")
    if sweep != "latest" and not sweeps.empty:
        sweeps = sweeps[(sweeps["run_id"] == sweep) | (sweeps[f"tags.{MLFLOW_RUN_NAME}"] == sweep)]
    if sweeps.empty:
        raise UserError(
            f"no sweep {sweep!r} in this experiment; pass --sweep latest, a parent run id or a sweep name "
            "(the parent runs' names in the MLflow UI)"
        )
    return mlflow.get_run(sweeps["run_id"].iloc[0])


def load_runs(uri: str, experiment: str, sweep: str | None = None) -> tuple[pd.DataFrame, object | None]:
    """The latest FINISHED job run per config (run_id, start_time, config_hash, test_manifest, factors,
    metrics, ``params.<key>``, ``untuned``: why it has no search result) and the sweep's parent run.
    Sets the process's tracking URI, which ``mlflow.search_runs`` reads."""
    mlflow.set_tracking_uri(uri)
    if (exp := mlflow.get_experiment_by_name(experiment)) is None:
        raise UserError(f"no experiment {experiment!r} at {uri}; check --experiment (tracking.experiment of the jobs)")
    parent = find_sweep(exp.experiment_id, sweep) if sweep else None
    query = f"tags.`{ROLE}` = 'job' and attributes.status = 'FINISHED'"
    if parent is not None:
        query += f" and tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent.info.run_id}'"
    if (found := _search(exp.experiment_id, query)).empty:
        return pd.DataFrame(), parent
    tags = found.filter(regex=r"^tags\.").rename(columns=lambda c: c[5:])
    tags = tags.reindex(columns=[*FACTORS, CONFIG_HASH, TEST_MANIFEST, UNTUNED_TAG, *SOURCE_TAGS])
    factors = tags[list(FACTORS)].assign(config_hash=tags[CONFIG_HASH].fillna(found["run_id"]))
    factors = factors.assign(test_manifest=tags[TEST_MANIFEST], bpp=pd.to_numeric(tags["bpp"]), **tags[SOURCE_TAGS])
    metrics = found.filter(regex=r"^metrics\.").rename(columns=lambda c: c[8:])
    # params label the runs by what varied
    df = pd.concat([found[["run_id", "start_time"]], factors, metrics, found.filter(regex=r"^params\.")], axis=1)
    # Tagged (fixed parameters), or a nan score (a run from before such searches ended FAILED).
    scores = df[SCORE] if SCORE in df else pd.Series(0.0, index=df.index)
    # In the search's table a missing metric is nan too: ask for the logged values.
    history = mlflow.MlflowClient().get_metric_history
    nan = [
        pd.isna(t) and pd.isna(s) and any(math.isnan(m.value) for m in history(r, SCORE))
        for r, s, t in zip(df["run_id"], scores, tags[UNTUNED_TAG])
    ]
    df["untuned"] = tags[UNTUNED_TAG].mask(pd.Series(nan, index=df.index), "no completed trial")
    df = df.sort_values("start_time").drop_duplicates("config_hash", keep="last")
    return df.reset_index(drop=True), parent
