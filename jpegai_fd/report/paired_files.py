"""``comparisons.md`` and ``comparisons.csv``: the paired comparisons behind the results tables'
marks (:mod:`jpegai_fd.report.paired`), one line per shown run, with the statistics a reader needs
to judge a mark (McNemar's b and c, its method and p-value, the AUC difference with its interval and
p-value) and the reason for every run that could not be compared."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from jpegai_fd.report.cells import SAME_AS_BEST
from jpegai_fd.report.paired import ALONE, BEST, DIFFERENT, NOT_COMPARABLE, SAME, Comparisons
from jpegai_fd.report.tables import model_name, row_keys, shown_runs, to_markdown

STATUS_ORDER = {BEST: 0, SAME: 1, DIFFERENT: 2, ALONE: 3, NOT_COMPARABLE: 4}
STAT_COLUMNS = (
    "images",
    "roc_auc",
    "accuracy",
    "mcnemar_b",
    "mcnemar_c",
    "mcnemar_method",
    "mcnemar_statistic",
    "mcnemar_p",
    "auc_difference",
    "auc_difference_low",
    "auc_difference_high",
    "auc_difference_p",
    "reason",
)


def method_note(c: Comparisons) -> str:
    """What a mark means, how it was tested, and that p-values are not corrected."""
    return (
        "Runs scored on the same test images (same `dataset.test_manifest` tag) are compared pairwise, image "
        "by image, with the best of them (highest test ROC AUC; **bold** in the results tables). "
        "McNemar's test on the decisions at each run's validation threshold: b = images the best run got "
        "right and this run wrong, c = the reverse (exact binomial test below 25 discordant images, else "
        "chi-square with continuity correction). Paired bootstrap of the ROC AUC difference, best minus "
        f"this run: {c.n_resamples} resamples of the same images for both runs (seed {c.seed}), 95% "
        f'percentile interval. {SAME_AS_BEST}: neither test rejects "same as the best" at '
        f"alpha = {c.alpha:g}; no mark: at least one does, or the run could not be compared. p-values are "
        "per comparison, uncorrected for the number of comparisons in a table (among 20 runs that are "
        "truly as good as the best, about one is expected to test significant by chance)."
    )


def comparison_table(c: Comparisons, runs: pd.DataFrame) -> pd.DataFrame:
    """The rows of comparisons.csv: test set, status, the run's configuration and id, statistics."""
    shown = shown_runs(runs)
    keys = [*row_keys(runs), "latent"]
    config = shown[["run_id", *keys]].assign(
        classifier=shown["classifier"].map(model_name), component=shown["component"].str.upper()
    )
    table = c.rows.merge(config.rename(columns={"classifier": "model"}), on="run_id", how="left")
    for column in STAT_COLUMNS:
        if column not in table:
            table[column] = None
    table["not_significant"] = table["status"].map({SAME: True, DIFFERENT: False})
    for column in ("images", "mcnemar_b", "mcnemar_c"):  # counts stay integers beside the missing cells
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    table = table.assign(_rank=table["status"].map(STATUS_ORDER)).sort_values(
        ["test_manifest", "_rank", "roc_auc"], ascending=[True, True, False], na_position="last"
    )
    front = ["test_manifest", "status", "not_significant", *[k if k != "classifier" else "model" for k in keys]]
    return table[[*front, "run_id", *STAT_COLUMNS]].reset_index(drop=True)


def _p(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3g}"


def _num(value, digits: int = 3) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _count(value) -> str:
    return "" if pd.isna(value) else str(int(value))


def _runs(n: int) -> str:
    return f"{n} run" + ("" if n == 1 else "s")


def _config(table: pd.DataFrame) -> list[str]:
    return list(table.columns[table.columns.get_loc("not_significant") + 1 : table.columns.get_loc("run_id")])


def comparisons_markdown(c: Comparisons, runs: pd.DataFrame, title: str) -> str:
    """comparisons.md: the method, one table per test set, then the runs that were not compared."""
    table = comparison_table(c, runs)
    config = _config(table)
    parts = [f"# {title}: paired comparisons with the best run\n\n{method_note(c)}\n"]
    compared = table[table["status"].isin([BEST, SAME, DIFFERENT])]
    for manifest, group in compared.groupby("test_manifest", sort=True):
        n_images = int(group["images"].iloc[0])
        parts.append(f"\n## Test images `{str(manifest)[:16]}` ({n_images} images, {_runs(len(group))})\n\n")
        rows = pd.DataFrame(
            {
                "vs best": group["status"].map({BEST: "best", SAME: SAME_AS_BEST, DIFFERENT: "differs"}),
                **{k: group[k] for k in config},
                "run": group["run_id"].str[:8],
                "AUC": group["roc_auc"].map(_num),
                "accuracy": group["accuracy"].map(_num),
                "b": group["mcnemar_b"].map(_count),
                "c": group["mcnemar_c"].map(_count),
                "McNemar": group["mcnemar_method"].fillna(""),
                "p": group["mcnemar_p"].map(_p),
                "AUC diff [95% CI]": [
                    "" if pd.isna(d) else f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                    for d, lo, hi in zip(
                        group["auc_difference"], group["auc_difference_low"], group["auc_difference_high"]
                    )
                ],
                "p (AUC)": group["auc_difference_p"].map(_p),
            }
        )
        parts.append(to_markdown(rows))
    parts.append(
        "\n`accuracy`: of the decisions in the run's `scores/test_scores.csv` (at its validation threshold) on "
        "the images all runs of the test set scored.\n"
    )
    for status, heading in ((ALONE, "Only run on its test images"), (NOT_COMPARABLE, "Not comparable")):
        rest = table[table["status"] == status]
        if len(rest):
            rows = pd.DataFrame({**{k: rest[k] for k in config}, "run": rest["run_id"].str[:8]})
            rows["reason"] = rest["reason"].fillna("no other run scored these test images").to_numpy()
            parts.append(f"\n## {heading} ({_runs(len(rest))})\n\n" + to_markdown(rows))
    return "".join(parts)


def write_comparisons(c: Comparisons, runs: pd.DataFrame, out: Path, title: str) -> list[Path]:
    """Write comparisons.md and comparisons.csv into ``out``; returns their paths."""
    md, csv = out / "comparisons.md", out / "comparisons.csv"
    comparison_table(c, runs).to_csv(csv, index=False)
    md.write_text(comparisons_markdown(c, runs, title))
    return [md, csv]
