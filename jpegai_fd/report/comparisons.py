"""comparisons.md / .csv: is a run's difference from the best one more than the noise of a finite test set? Runs
paired on the same test images, each against its group's best and the file-property baseline (docs/how-to/reports.md)."""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from jpegai_fd.extra_eval.report import to_markdown
from jpegai_fd.report.runs import TEST_MANIFEST
from jpegai_fd.report.tables import SAME_AS_BEST, model_name, row_keys, shown_runs
from jpegai_fd.scoring.bootstrap import DEFAULT_RESAMPLES
from jpegai_fd.scoring.paired import align_runs, compare_to_best, paired_auc_bootstrap
from jpegai_fd.scoring.per_image import read_scores_csv

SCORES_ARTIFACT = "scores/test_scores.csv"
NO_SCORES = f"no {SCORES_ARTIFACT} artifact (logged before per-image scores)"
ALPHA = 0.05
BEST, SAME, DIFFERENT = "best", "not significant", "significant"
ALONE, NOT_COMPARABLE = "only run on its test images", "not comparable"
BASELINE, NOT_ABOVE_BASELINE = "metadata", "‡"
STATUS_ORDER = {BEST: 0, SAME: 1, DIFFERENT: 2, ALONE: 3, NOT_COMPARABLE: 4}
# compare_to_best's nested results, flattened, -> the CSV's columns (b: the best right and this run
# wrong, c: the reverse; the AUC difference is the best's minus this run's).
FLAT = {"mcnemar_a_only": "mcnemar_b", "mcnemar_b_only": "mcnemar_c", "mcnemar_p_value": "mcnemar_p"}
FLAT |= {"auc_difference_difference": "auc_difference", "auc_difference_p_value": "auc_difference_p"}
STAT_COLUMNS = (
    "images roc_auc accuracy mcnemar_b mcnemar_c mcnemar_method mcnemar_statistic mcnemar_p auc_difference "
    "auc_difference_low auc_difference_high auc_difference_p reason"
).split()


@dataclass(frozen=True)
class Comparisons:
    """``rows``: comparisons.csv (one row per shown run), and the settings they were computed with."""

    rows: pd.DataFrame
    alpha: float
    n_resamples: int
    seed: int

    def marks(self, run_id: str) -> tuple[str, bool]:  # (mark after the cell, bold?)
        status = dict(zip(self.rows["run_id"], self.rows["status"])).get(run_id)
        below = dict(zip(self.rows["run_id"], self.rows["above_baseline"])).get(run_id) is False
        return " ".join(filter(None, (SAME_AS_BEST * (status == SAME), NOT_ABOVE_BASELINE * below))), status == BEST


def load_scores(client: MlflowClient, run_id: str) -> tuple[dict | None, str | None]:
    """(per-image scores, None) or (None, why not). Listed, not caught: a server error still raises."""
    if SCORES_ARTIFACT not in {f.path for f in client.list_artifacts(run_id, Path(SCORES_ARTIFACT).parent.as_posix())}:
        return None, NO_SCORES
    with tempfile.TemporaryDirectory(prefix="jpegai_fd_scores_") as tmp:
        text = Path(client.download_artifacts(run_id, SCORES_ARTIFACT, tmp)).read_text()
    try:
        return read_scores_csv(text), None
    except ValueError as exc:  # a malformed file, e.g. written by hand
        return None, f"unreadable {SCORES_ARTIFACT}: {exc}"


def _compare_group(tables: dict[str, dict], alpha: float, n_resamples: int, seed: int) -> dict[str, dict]:
    if len(tables) == 1:
        return {run_id: {"status": ALONE, "images": len(t["id"])} for run_id, t in tables.items()}
    try:
        ids, y_true, aligned = align_runs(tables)
        if len(ids) == 0:
            raise ValueError("the runs share no test image")
        rows = compare_to_best(y_true, aligned, alpha=alpha, n_resamples=n_resamples, seed=seed)
    except ValueError as exc:  # different labels for one image, no shared image, a one-class test set
        return {run_id: {"status": NOT_COMPARABLE, "reason": str(exc)} for run_id in tables}
    flat = pd.json_normalize(rows, sep="_").rename(columns=FLAT)
    same = flat["not_significant"].eq(True) if "not_significant" in flat else False
    flat["status"] = np.select([flat["is_best"], same], [BEST, SAME], DIFFERENT)
    return flat.assign(images=len(ids)).set_index("name").to_dict("index")


def _versus_baseline(tables: dict[str, dict], baselines: set, results: dict, alpha: float, n_resamples: int, seed: int):
    """``above_baseline`` of each latent run of a group holding a baseline run: its AUC minus the baseline's,
    paired bootstrap, significantly above zero at ``alpha``."""
    base = next((run_id for run_id in tables if run_id in baselines), None)
    if base is None or any(results[run_id]["status"] == NOT_COMPARABLE for run_id in tables):
        return
    _, y_true, aligned = align_runs(tables)
    for run_id in set(tables) - baselines:
        d = paired_auc_bootstrap(y_true, aligned[run_id]["p_fake"], aligned[base]["p_fake"], n_resamples, seed)
        results[run_id]["above_baseline"] = bool(d.difference > 0 and d.p_value < alpha)


def compare_runs(
    uri: str, runs: pd.DataFrame, alpha: float = ALPHA, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> Comparisons:
    client = MlflowClient(uri)
    shown = shown_runs(runs)
    manifests = shown["test_manifest"] if "test_manifest" in shown else pd.Series(None, index=shown.index)
    results: dict[str, dict] = {}
    groups: dict[str, dict[str, dict]] = {}
    for run_id, manifest in zip(shown["run_id"], manifests):
        scores, reason = load_scores(client, run_id)
        if not isinstance(manifest, str) or not manifest:
            # The missing file is the likelier story (a run from before both); name it when it is.
            scores, reason = None, NO_SCORES if reason == NO_SCORES else f"no {TEST_MANIFEST} tag (test images unknown)"
        if scores is None:
            results[run_id] = {"status": NOT_COMPARABLE, "reason": reason}
        else:
            groups.setdefault(manifest, {})[run_id] = scores
    baselines = set(shown["run_id"][shown["classifier"] == BASELINE])
    for tables in groups.values():
        results.update(_compare_group(tables, alpha, n_resamples, seed))
        _versus_baseline(tables, baselines, results, alpha, n_resamples, seed)
    rows = pd.DataFrame([{"run_id": r, "test_manifest": m, **results[r]} for r, m in zip(shown["run_id"], manifests)])
    return Comparisons(_table(rows, runs), alpha, n_resamples, seed)


def _table(rows: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    shown = shown_runs(runs)
    keys = [*row_keys(runs), "latent"]
    config = shown[["run_id", *keys]].assign(
        classifier=shown["classifier"].map(model_name), component=shown["component"].str.upper()
    )
    table = rows.reindex(columns=["run_id", "test_manifest", "status", "above_baseline", *STAT_COLUMNS]).merge(
        config.rename(columns={"classifier": "model"}), on="run_id", how="left"
    )
    table["not_significant"] = table["status"].map({SAME: True, DIFFERENT: False})
    for column in ("images", "mcnemar_b", "mcnemar_c"):  # counts stay integers beside the missing cells
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    table = table.assign(_rank=table["status"].map(STATUS_ORDER)).sort_values(
        ["test_manifest", "_rank", "roc_auc"], ascending=[True, True, False], na_position="last"
    )
    front = ["test_manifest", "status", "above_baseline", "not_significant"]
    front += [k if k != "classifier" else "model" for k in keys]
    return table[[*front, "run_id", *STAT_COLUMNS]].reset_index(drop=True)


def _runs(n: int) -> str:
    return f"{n} run" + ("" if n == 1 else "s")


def _compared_rows(group: pd.DataFrame, config: list[str]) -> pd.DataFrame:
    p = {c: group[c].map("{:.3g}".format, na_action="ignore") for c in ("mcnemar_p", "auc_difference_p")}
    diff = group[["auc_difference", "auc_difference_low", "auc_difference_high"]].itertuples(index=False)
    stats = {"roc_auc": "AUC", "accuracy": "accuracy", "mcnemar_b": "b", "mcnemar_c": "c", "mcnemar_method": "McNemar"}
    vs_best = group["status"].map({BEST: "best", SAME: SAME_AS_BEST, DIFFERENT: "differs"}).rename("vs best")
    rows = [vs_best, group[config], group["run_id"].str[:8].rename("run"), group[list(stats)].rename(columns=stats)]
    ci = [None if pd.isna(d) else f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in diff]
    return pd.concat(rows, axis=1).assign(
        p=p["mcnemar_p"], **{"AUC diff [95% CI]": ci, "p (AUC)": p["auc_difference_p"]}
    )


def comparisons_markdown(c: Comparisons, title: str) -> str:
    table = c.rows  # comparisons.csv
    config = list(table.columns[table.columns.get_loc("not_significant") + 1 : table.columns.get_loc("run_id")])
    note = (
        "Runs scored on the same test images (same `dataset.test_manifest` tag) are compared pairwise, image by image, "
        "with the best of them (highest test ROC AUC; **bold** in the results tables). McNemar's test on the decisions "
        "at each run's validation threshold: b = images the best run got right and this run wrong, c = the reverse "
        "(exact binomial test below 25 discordant images, else chi-square with continuity correction). Paired "
        f"bootstrap of the ROC AUC difference, best minus this run: {c.n_resamples} resamples of the same images for "
        f'both runs (seed {c.seed}), 95% percentile interval. {SAME_AS_BEST}: neither test rejects "same as the best" '
        f"at alpha = {c.alpha:g}; no mark: at least one does, or the run could not be compared. p-values are per "
        "comparison, uncorrected for the number of comparisons in a table (among 20 runs that are truly as good as the "
        "best, about one is expected to test significant by chance)."
    )
    parts = [f"# {title}: paired comparisons with the best run\n\n{note}\n"]
    compared = table[table["status"].isin([BEST, SAME, DIFFERENT])]
    for manifest, group in compared.groupby("test_manifest", sort=True):
        n_images = int(group["images"].iloc[0])
        parts.append(f"\n## Test images `{str(manifest)[:16]}` ({n_images} images, {_runs(len(group))})\n\n")
        parts.append(to_markdown(_compared_rows(group, config), missing=""))
    parts.append(
        "\n`accuracy`: of the decisions in the run's `scores/test_scores.csv` (at its validation threshold) on "
        "the images all runs of the test set scored.\n"
    )
    for status, heading in ((ALONE, "Only run on its test images"), (NOT_COMPARABLE, "Not comparable")):
        if len(rest := table[table["status"] == status]):
            rows = pd.DataFrame({**{k: rest[k] for k in config}, "run": rest["run_id"].str[:8]})
            rows["reason"] = rest["reason"].astype(object).fillna("no other run scored these test images").to_numpy()
            parts.append(f"\n## {heading} ({_runs(len(rest))})\n\n" + to_markdown(rows))
    return "".join(parts)


def write_comparisons(c: Comparisons, out: Path, title: str) -> list[Path]:
    c.rows.to_csv(out / "comparisons.csv", index=False)
    (out / "comparisons.md").write_text(comparisons_markdown(c, title))
    return [out / "comparisons.md", out / "comparisons.csv"]
