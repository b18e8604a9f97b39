"""The sweep's view of the extra evaluation, with the cells and rate chart of :mod:`jpegai_fd.extra_eval.report`;
runs are labelled by the params that differ between them. Files (when some run has extra metrics):
``extra.md`` / ``extra.csv`` (per run and set: accuracy at the valid cut, ROC AUC, images per class),
``extra_auc_matrix.md`` (runs x sets, ROC AUC: the cross-generator table) and ``extra_rates.png``."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from jpegai_fd.extra_eval.report import CHANCE, cell, rate_chart, to_markdown
from jpegai_fd.report.charts import RATE_NOTE

METRIC = re.compile(r"^(test|(?:eval|robust|rate)/[^/]+)/(.+)$")
IGNORED = ("tracking.", "paths.", "hydra.", "model.", "eval.")  # set up or derived, not what a sweep varies
ACCURACY = ("accuracy", "accuracy_ci_low", "accuracy_ci_high")  # the fixed 0.5 rule's
SHOWN = ("n_real", "n_fake", "accuracy_at_valid", "roc_auc")


def run_labels(runs: pd.DataFrame) -> list[str]:
    params = [
        c for c in runs.columns if c.startswith("params.") and not c[7:].startswith(IGNORED) and not c.endswith(".root")
    ]
    varied = [c for c in params if runs[c].astype(str).nunique() > 1]
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
    table.assign(accuracy_value=shown["accuracy_at_valid"], roc_auc_value=shown["roc_auc"]).to_csv(
        out / "extra.csv", index=False
    )
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
    chart = rate_chart(rows, title)
    if chart is not None:
        chart.savefig(out / "extra_rates.png", dpi=100)
        files.append(out / "extra_rates.png")
    return files
