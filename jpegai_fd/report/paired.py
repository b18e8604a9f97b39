"""Paired comparison of a results table's runs: is a configuration's difference from the best one
more than the noise of a finite test set?

Two runs can only be paired on the same images, so runs are grouped by the tag
``dataset.test_manifest`` (the test split's manifest hash: same hash, same images and labels). Each
run's per-image scores come from its ``scores/test_scores.csv`` artifact; within a group every run
is compared with the group's best (highest test ROC AUC) by
:func:`jpegai_fd.scoring.paired.compare_to_best`: McNemar's test on the decisions at each run's
validation threshold and a paired bootstrap of the AUC difference. A run without the artifact or
the tag (logged before either existed) is "not comparable": it keeps its cell, unmarked.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from jpegai_fd.report.cells import SAME_AS_BEST
from jpegai_fd.report.runs import TEST_MANIFEST
from jpegai_fd.report.tables import shown_runs
from jpegai_fd.scoring.bootstrap import DEFAULT_RESAMPLES
from jpegai_fd.scoring.paired import align_runs, compare_to_best
from jpegai_fd.scoring.per_image import read_scores_csv

SCORES_ARTIFACT = "scores/test_scores.csv"
ALPHA = 0.05
BEST, SAME, DIFFERENT = "best", "not significant", "significant"
ALONE, NOT_COMPARABLE = "only run on its test images", "not comparable"


@dataclass(frozen=True)
class Comparisons:
    """One row per shown run (``rows``: run_id, test_manifest, status, reason, images, roc_auc,
    accuracy, the McNemar and AUC-difference columns), and the settings they were computed with."""

    rows: pd.DataFrame
    alpha: float
    n_resamples: int
    seed: int

    def marks(self, run_id: str) -> tuple[str, bool]:
        """(mark after the cell, bold?) for a run's results cells."""
        status = dict(zip(self.rows["run_id"], self.rows["status"])).get(run_id)
        return (SAME_AS_BEST if status == SAME else ""), status == BEST


def has_scores(client, run_id: str) -> bool:
    """Whether the run logged its per-image scores. Listed rather than downloaded and caught, so a
    missing artifact (an older run) is a reason while a server error still raises."""
    folder = Path(SCORES_ARTIFACT).parent.as_posix()
    return SCORES_ARTIFACT in {f.path for f in client.list_artifacts(run_id, folder)}


def load_scores(client, run_id: str) -> tuple[dict | None, str | None]:
    """(the run's per-image scores, None), or (None, why not)."""
    if not has_scores(client, run_id):
        return None, f"no {SCORES_ARTIFACT} artifact (logged before per-image scores)"
    with tempfile.TemporaryDirectory(prefix="jpegai_fd_scores_") as tmp:
        text = Path(client.download_artifacts(run_id, SCORES_ARTIFACT, tmp)).read_text()
    try:
        return read_scores_csv(text), None
    except ValueError as exc:  # a malformed file, e.g. written by hand
        return None, f"unreadable {SCORES_ARTIFACT}: {exc}"


def _compared(row: dict) -> dict:
    """Flat columns of one :func:`compare_to_best` row (b: the best right and this run wrong, c: the
    reverse; the AUC difference is the best's minus this run's)."""
    out = {"roc_auc": row["roc_auc"], "accuracy": row["accuracy"]}
    if row["is_best"]:
        return {**out, "status": BEST}
    m, d = row["mcnemar"], row["auc_difference"]
    return {
        **out,
        "status": SAME if row["not_significant"] else DIFFERENT,
        "mcnemar_b": m["a_only"],
        "mcnemar_c": m["b_only"],
        "mcnemar_method": m["method"],
        "mcnemar_statistic": m["statistic"],
        "mcnemar_p": m["p_value"],
        "auc_difference": d["difference"],
        "auc_difference_low": d["low"],
        "auc_difference_high": d["high"],
        "auc_difference_p": d["p_value"],
    }


def _compare_group(tables: dict[str, dict], alpha: float, n_resamples: int, seed: int) -> dict[str, dict]:
    """run id -> result columns for the runs of one test set."""
    if len(tables) == 1:
        return {run_id: {"status": ALONE, "images": len(t["id"])} for run_id, t in tables.items()}
    try:
        ids, y_true, aligned = align_runs(tables)
        if len(ids) == 0:
            raise ValueError("the runs share no test image")
        rows = compare_to_best(y_true, aligned, alpha=alpha, n_resamples=n_resamples, seed=seed)
    except ValueError as exc:  # different labels for one image, no shared image, a one-class test set
        return {run_id: {"status": NOT_COMPARABLE, "reason": str(exc)} for run_id in tables}
    return {r["name"]: {**_compared(r), "images": len(ids)} for r in rows}


def compare_runs(
    uri: str, runs: pd.DataFrame, alpha: float = ALPHA, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> Comparisons:
    """Compare the runs the results tables show (:func:`jpegai_fd.report.tables.shown_runs`), per
    test set, with the best of that set; ``runs`` needs ``run_id`` and ``test_manifest``."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    shown = shown_runs(runs)
    results: dict[str, dict] = {}
    groups: dict[str, dict[str, dict]] = {}
    manifests = shown["test_manifest"] if "test_manifest" in shown else pd.Series(None, index=shown.index)
    for run_id, manifest in zip(shown["run_id"], manifests):
        if not isinstance(manifest, str) or not manifest:
            # The missing file is the likelier story (a run from before both); name it when it is.
            reason = f"no {TEST_MANIFEST} tag (test images unknown)"
            if not has_scores(client, run_id):
                reason = f"no {SCORES_ARTIFACT} artifact (logged before per-image scores)"
            results[run_id] = {"status": NOT_COMPARABLE, "reason": reason}
            continue
        scores, reason = load_scores(client, run_id)
        if scores is None:
            results[run_id] = {"status": NOT_COMPARABLE, "reason": reason}
        else:
            groups.setdefault(manifest, {})[run_id] = scores
    for tables in groups.values():
        results.update(_compare_group(tables, alpha, n_resamples, seed))
    rows = pd.DataFrame([{"run_id": r, "test_manifest": m, **results[r]} for r, m in zip(shown["run_id"], manifests)])
    return Comparisons(rows, alpha, n_resamples, seed)
