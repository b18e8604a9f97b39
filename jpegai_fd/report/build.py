"""Write the report files for a table of runs (the list: docs/how-to/reports.md, docs/concepts/beyond.md); runs are
labelled by the params that differ between them."""

import re
from pathlib import Path

import pandas as pd

from jpegai_fd.extra_eval.report import CHANCE, cell, rate_chart, to_markdown
from jpegai_fd.report.charts import RATE_NOTE, classifier_chart, component_chart
from jpegai_fd.report.holdout import write_holdout_report
from jpegai_fd.report.comparisons import NOT_ABOVE_BASELINE, Comparisons, write_comparisons
from jpegai_fd.report.tables import AT_VALID, FALLBACK_NOTE, FIXED_RULE, SAME_AS_BEST, SOURCE, results_cells
from jpegai_fd.report.tables import results_table, timing_pivot, timing_table, with_headline

AUC = "test/roc_auc"
METRIC = re.compile(r"^(test|(?:eval|robust|rate)/[^/]+)/(.+)$")
IGNORED = ("tracking.", "paths.", "hydra.", "model.", "eval.")  # set up or derived, not what a sweep varies
ACCURACY = ("accuracy", "accuracy_ci_low", "accuracy_ci_high")  # the fixed 0.5 rule's
SHOWN = ("n_real", "n_fake", "accuracy_at_valid", "roc_auc")
PER_SOURCE = re.compile(r"^(.+)/source/([^/]+)/(fake_recall|false_alarm_rate)$")


def run_labels(runs: pd.DataFrame) -> list[str]:
    params = [c for c in runs.columns if c.startswith("params.") and not c[7:].startswith(IGNORED)]
    varied = [c for c in params if not c.endswith(".root") and runs[c].astype(str).nunique() > 1]
    return [", ".join(f"{c[7:]}={r[c]}" for c in varied) or str(r["run_id"])[:8] for r in runs.to_dict("records")]


def sweep_rows(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, set: ``test``, ``eval/<name>``, ``robust/<c>``, ``rate/<bpp>``): label, position,
    set, rate and unprefixed metrics (the 0.5 rule's accuracy where a run has no valid cut)."""
    rows = []
    for i, (label, r) in enumerate(zip(run_labels(runs), runs.to_dict("records"))):
        sets: dict[str, dict] = {"test": {}}
        for column, value in r.items():
            if (m := METRIC.match(str(column))) and not pd.isna(value):
                sets.setdefault(m[1], {})[m[2]] = value
        for name in sorted(sets, key=lambda s: (s != "test", s)):
            m = sets[name]
            if "accuracy_at_valid" not in m:
                m |= {k.replace("accuracy", "accuracy_at_valid"): v for k, v in m.items() if k in ACCURACY}
            bpp = int(name[5:]) if name.startswith("rate/") else r.get("bpp")
            rows.append({"run": label, "position": i, "set": name, "bpp": bpp, **dict.fromkeys(SHOWN), **m})
    return pd.DataFrame(rows)


def write_extra_report(runs: pd.DataFrame, out: Path, title: str) -> list[Path]:
    rows = sweep_rows(runs)
    if rows.empty or rows["set"].eq("test").all():
        return []
    shown = rows[rows["accuracy_at_valid"].notna() | rows["roc_auc"].notna()]
    table = shown[["run", "set", "n_real", "n_fake"]].rename(columns={"n_real": "real", "n_fake": "fake"})
    records = shown.to_dict("records")
    table["accuracy"] = [cell(r, "accuracy_at_valid", "–") for r in records]
    table["roc_auc"] = [cell(r, "roc_auc", "–") for r in records]
    values = table.assign(accuracy_value=shown["accuracy_at_valid"], roc_auc_value=shown["roc_auc"])
    values.to_csv(out / "extra.csv", index=False)
    (out / "extra.md").write_text(
        f"# {title}: every test set, condition and rate\n\nAccuracy at the validation-chosen cut (the fixed "
        f"0.5 rule where a run has no such cut) and ROC AUC, [bootstrap interval]. Chance is {CHANCE}. "
        f"{RATE_NOTE}.\n\n" + to_markdown(table, digits=0)
    )
    sets = ["test", *dict.fromkeys(s for s in rows["set"] if s.startswith("eval/"))]
    matrix = rows.pivot(index="position", columns="set", values="roc_auc")[sets].set_axis(run_labels(runs))
    (out / "extra_auc_matrix.md").write_text(
        f"# {title}: ROC AUC, runs x test sets\n\n" + to_markdown(matrix.reset_index(names="run"))
    )
    files = [out / "extra.csv", out / "extra.md", out / "extra_auc_matrix.md"]
    if (chart := rate_chart(rows, title)) is not None:
        chart.savefig(out / "extra_rates.png", dpi=100)
        files.append(out / "extra_rates.png")
    return files


def write_source_report(runs: pd.DataFrame, out: Path, title: str) -> list[Path]:
    """``sources.md`` / ``sources.csv``: a row per (run, set, source, class) of the per-source metrics."""
    rows = []
    for label, r in zip(run_labels(runs), runs.to_dict("records")):
        for column, value in r.items():
            if (m := PER_SOURCE.match(str(column))) and not pd.isna(value):
                cls = "fake" if m[3] == "fake_recall" else "real"
                more = {k: r.get(f"{m[1]}/source/{m[2]}/{k}_{cls}") for k in ("n", "roc_auc")}
                rows.append({"run": label, "set": m[1], "source": m[2], "class": cls, "rate": value, **more})
    if not rows:
        return []
    table = pd.DataFrame(rows).sort_values(["run", "set", "class", "source"], kind="stable")
    table.to_csv(out / "sources.csv", index=False)
    (out / "sources.md").write_text(
        f"# {title}: per source\n\nRate at the validation-chosen cut: for a fake source the share of its fakes called "
        "fake (fake recall), for a real source the share of its reals called fake (false-alarm rate); n images; ROC "
        f"AUC of the source against every image of the other class.\n\n{to_markdown(table.astype({'n': 'Int64'}))}"
    )
    return [out / "sources.csv", out / "sources.md"]


def _notes(runs: pd.DataFrame, comparisons: Comparisons | None, metric: str) -> str:
    lines = [f"Cells: `{metric}` ± half the width of its 95% bootstrap interval (bounds in the CSV file)."]
    if metric == AT_VALID and with_headline(runs)[SOURCE].eq(FIXED_RULE).any():
        lines.append(FALLBACK_NOTE)
    if comparisons is not None:
        lines.append(
            f"**Bold**: the best run (highest test ROC AUC) of those scored on the same test images; "
            f"{SAME_AS_BEST}: not significantly different from it (McNemar on the decisions and paired bootstrap "
            f"on the AUC, both p >= {comparisons.alpha:g}; p-values per comparison, uncorrected); no mark: "
            "significantly different, or not comparable. Details and the runs not compared: comparisons.md."
        )
        if comparisons.rows["above_baseline"].eq(False).any():
            lines.append(
                f"{NOT_ABOVE_BASELINE}: test ROC AUC not significantly above the file-property baseline's "
                "(classifier=metadata) on the same images (paired bootstrap): the detector may rely on file properties."
            )
    return "\n".join(f"- {line}" for line in lines) + "\n"


def write_report(runs: pd.DataFrame, out: Path, title: str, comparisons: Comparisons | None = None) -> list[Path]:
    """results, auc, timing, comparisons (.md/.csv), charts and extra files written into ``out``; its files."""
    out.mkdir(parents=True, exist_ok=True)
    marks = comparisons.marks if comparisons is not None else None
    results, timing = results_table(runs), timing_table(runs)
    results.to_csv(out / "results.csv", index=False)
    timing.to_csv(out / "timing.csv", index=False)
    md = (
        f"# {title}\n\nTest accuracy at the threshold chosen on the validation images, `y` and `y_hat` side by side "
        f"({len(runs)} runs; chance is {CHANCE}). {RATE_NOTE}.\n\n{to_markdown(results_cells(runs, marks=marks))}\n"
    ) + _notes(runs, comparisons, AT_VALID)
    if AUC in runs and runs[AUC].notna().any():
        results_table(runs, AUC).to_csv(out / "auc.csv", index=False)
        cells = to_markdown(results_cells(runs, AUC, marks=marks))
        md += f"\n## ROC AUC (threshold-free; auc.csv)\n\n{cells}\n{_notes(runs, comparisons, AUC)}"
    (out / "results.md").write_text(md)
    if comparisons is not None:
        write_comparisons(comparisons, out, title)
    fit, tune = (to_markdown(timing_pivot(timing, c)) for c in ("fit_s", "tune_s"))
    seconds = to_markdown(timing, digits=2)
    (out / "timing.md").write_text(
        f"# {title}: time per job (mean over bpp and latent)\n\n## Training the final model (fit)\n\n{fit}\n## "
        f"Hyperparameter search (Optuna, all trials)\n\n{tune}\n## Seconds (timing.csv)\n\n{seconds}"
    )
    for latent in sorted(runs["latent"].unique()):
        component_chart(runs, latent).savefig(out / f"y_vs_yuv_{latent}.png", dpi=100)
        classifier_chart(runs, latent).savefig(out / f"classifiers_by_bpp_{latent}.png", dpi=100)
    write_extra_report(runs, out, title)  # extra test sets, conditions, rates, when the runs have them
    write_holdout_report(runs, out, title)  # the leave-one-source-out matrix, when runs held a source out
    write_source_report(runs, out, title)  # sets with several sources
    return sorted(out.iterdir())
