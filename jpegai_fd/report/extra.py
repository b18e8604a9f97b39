"""The sweep's view of the extra evaluation: every run against every extra set, condition and rate.

Input: the runs table of :func:`jpegai_fd.report.runs.load_runs` (metrics as columns, and each run's
params as ``params.<key>`` columns). Runs are labelled by the params that differ between them (the
sweep's factors, e.g. ``dataset.generator=diffusion``). Files (only when some run has such metrics):

- ``extra.md`` / ``extra.csv``: one row per (run, set), accuracy at the validation-chosen cut and ROC
  AUC with their bootstrap intervals (the cells of the job's own table,
  :mod:`jpegai_fd.extra_eval.report`), images per class;
- ``extra_auc_matrix.md``: runs x sets, ROC AUC (train-set x test-set: the cross-generator table
  when the sweep varies ``dataset.generator`` and evaluates each generator's set);
- ``extra_rates.png``: accuracy and AUC against the test rate, one line per run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from jpegai_fd.extra_eval.report import CHANCE, cell, to_markdown
from jpegai_fd.report.charts import RATE_NOTE

COLUMNS = ["run", "set", "real", "fake", "accuracy", "roc_auc", "accuracy_value", "roc_auc_value"]
METRIC = re.compile(r"^(test|(?:eval|robust|rate)/[^/]+)/(.+)$")
IGNORED = ("tracking.", "paths.", "hydra.", "model.", "eval.")  # set up or derived, not what a sweep varies


def run_labels(runs: pd.DataFrame) -> list[str]:
    """Per run, the params that differ between the runs (``k=v, ...``); the run id when none do."""
    params = [
        c for c in runs.columns if c.startswith("params.") and not c[7:].startswith(IGNORED) and not c.endswith(".root")
    ]
    varied = [c for c in params if runs[c].astype(str).nunique() > 1]
    return [", ".join(f"{c[7:]}={r[c]}" for c in varied) or str(r["run_id"])[:8] for r in runs.to_dict("records")]


def _sets(r: dict) -> dict[str, dict]:
    """A run's logged metrics per scored set (``test``, ``eval/<name>``, ``robust/<c>``, ``rate/<bpp>``), unprefixed."""
    sets: dict[str, dict] = {}
    for column, value in r.items():
        if (m := METRIC.match(str(column))) and not pd.isna(value):
            sets.setdefault(m[1], {})[m[2]] = value
    return {s: sets[s] for s in sorted(sets, key=lambda s: (s != "test", s))}


def sweep_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, set): the clean test split and every extra set, condition and rate (the
    accuracy at the valid cut, else the fixed 0.5 rule's), then the run's trained rate and the rate
    the set was encoded at (``position`` of the run, ``trained``, ``bpp``: for the chart)."""
    rows = []
    for i, (label, r) in enumerate(zip(run_labels(runs), runs.to_dict("records"))):
        for name, m in _sets(r).items():
            acc = "accuracy_at_valid" if "accuracy_at_valid" in m else "accuracy"
            if acc not in m and "roc_auc" not in m:
                continue
            rows.append(
                {
                    "run": label,
                    "set": name,
                    "real": m.get("n_real"),
                    "fake": m.get("n_fake"),
                    "accuracy": cell(m, acc, "–"),
                    "roc_auc": cell(m, "roc_auc", "–"),
                    "accuracy_value": m.get(acc),
                    "roc_auc_value": m.get("roc_auc"),
                    "position": i,
                    "trained": r.get("bpp"),
                    "bpp": int(name[5:]) if name.startswith("rate/") else r.get("bpp"),
                }
            )
    return pd.DataFrame(rows, columns=[*COLUMNS, "position", "trained", "bpp"])


def auc_matrix(runs: pd.DataFrame, sets: list[str]) -> pd.DataFrame:
    """Runs x ``sets``, ROC AUC."""
    aucs = [[_sets(r).get(s, {}).get("roc_auc") for s in sets] for r in runs.to_dict("records")]
    return pd.DataFrame(aucs, index=run_labels(runs), columns=sets)


def rates_chart(table: pd.DataFrame):
    """Accuracy and AUC against the test rate, one line per run (its trained rate included), from
    :func:`sweep_table`; None without ``rate/`` sets."""
    if not table["set"].str.startswith("rate/").any():
        return None
    fig = Figure(figsize=(9, 3.6))
    axes = fig.subplots(1, 2)
    points = table[(table["set"] == "test") | table["set"].str.startswith("rate/") & table["roc_auc_value"].notna()]
    for (_, label, trained), run in points.groupby(["position", "run", "trained"], sort=False):
        run = run.sort_values("bpp")
        for ax, column in zip(axes, ("accuracy_value", "roc_auc_value")):
            ax.plot(run["bpp"], run[column].astype(float), marker="o", label=f"{label} (trained bpp={int(trained)})")
    for ax, name in zip(axes, ("accuracy (at the valid cut)", "ROC AUC")):
        ax.axhline(CHANCE, color="grey", ls="--", lw=0.8)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("test rate (bpp)")
        ax.set_title(name, fontsize=9)
    axes[0].legend(fontsize=6)
    fig.text(0.5, 0.01, RATE_NOTE, ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def write_extra_report(runs: pd.DataFrame, out: Path, title: str) -> list[Path]:
    """Write the files above into ``out`` (nothing when no run has extra sets, conditions or rates)."""
    table = sweep_table(runs)
    if table["set"].eq("test").all():
        return []
    table[COLUMNS].to_csv(out / "extra.csv", index=False)
    (out / "extra.md").write_text(
        f"# {title}: every test set, condition and rate\n\nAccuracy at the validation-chosen cut (the fixed "
        f"0.5 rule where a run has no such cut) and ROC AUC, [bootstrap interval]. Chance is {CHANCE}. "
        f"{RATE_NOTE}.\n\n" + to_markdown(table[["run", "set", "real", "fake", "accuracy", "roc_auc"]], digits=0)
    )
    matrix = auc_matrix(runs, ["test", *dict.fromkeys(s for s in table["set"] if s.startswith("eval/"))])
    (out / "extra_auc_matrix.md").write_text(
        f"# {title}: ROC AUC, runs x test sets\n\n" + to_markdown(matrix.reset_index(names="run"))
    )
    files = [out / "extra.csv", out / "extra.md", out / "extra_auc_matrix.md"]
    chart = rates_chart(table)
    if chart is not None:
        chart.savefig(out / "extra_rates.png", dpi=100)
        files.append(out / "extra_rates.png")
    return files
