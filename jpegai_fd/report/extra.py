"""The sweep's view of issue 14's metrics: every run against every extra set, condition and rate.

Input: the runs table of :func:`jpegai_fd.report.runs.load_runs` (metrics as columns, and each run's
params as ``params.<key>`` columns). Runs are labelled by the params that differ between them (the
sweep's factors, e.g. ``dataset.generator=diffusion``). Files (only when some run has such metrics):

- ``extra.md`` / ``extra.csv``: one row per (run, set), accuracy at the validation-chosen cut and ROC
  AUC with their bootstrap intervals, images per class;
- ``extra_auc_matrix.md``: runs x sets, ROC AUC (train-set x test-set: the cross-generator table
  when the sweep varies ``dataset.generator`` and evaluates each generator's set);
- ``extra_rates.png``: accuracy and AUC against the test rate, one line per run.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from jpegai_fd.report.charts import CHANCE, RATE_NOTE

SET = re.compile(r"^((?:eval|robust|rate)/[^/]+)/n_(?:real|fake)$")
IGNORED = ("tracking.", "paths.", "hydra.", "model.", "eval.")  # set up or derived, not what a sweep varies


def extra_sets(runs: pd.DataFrame) -> list[str]:
    """``eval/<name>``, ``robust/<condition>``, ``rate/<bpp>`` found in the runs, in column order."""
    return list(dict.fromkeys(m.group(1) for c in runs.columns if (m := SET.match(str(c)))))


def run_labels(runs: pd.DataFrame) -> list[str]:
    """Per run, the params that differ between the runs (``k=v, ...``); the run id when none do."""
    params = [
        c for c in runs.columns if c.startswith("params.") and not c[7:].startswith(IGNORED) and not c.endswith(".root")
    ]
    varied = [c for c in params if runs[c].astype(str).nunique() > 1]
    return [", ".join(f"{c[7:]}={r[c]}" for c in varied) or str(r["run_id"])[:8] for r in runs.to_dict("records")]


def _value(r: dict, prefix: str, name: str):
    v = r.get(f"{prefix}/{name}")
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _text(r: dict, prefix: str, name: str) -> str:
    v = _value(r, prefix, name)
    if v is None:
        return "–"
    lo, hi = _value(r, prefix, f"{name}_ci_low"), _value(r, prefix, f"{name}_ci_high")
    return f"{v:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else "")


def _accuracy_name(r: dict, prefix: str) -> str:
    return "accuracy_at_valid" if _value(r, prefix, "accuracy_at_valid") is not None else "accuracy"


def sweep_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, set): the clean test split and every extra set, condition and rate."""
    rows = []
    for label, r in zip(run_labels(runs), runs.to_dict("records")):
        for prefix in ["test", *extra_sets(runs)]:
            if _value(r, prefix, "roc_auc") is None and _value(r, prefix, _accuracy_name(r, prefix)) is None:
                continue
            acc = _accuracy_name(r, prefix)
            rows.append(
                {
                    "run": label,
                    "set": prefix,
                    "real": _value(r, prefix, "n_real"),
                    "fake": _value(r, prefix, "n_fake"),
                    "accuracy": _text(r, prefix, acc),
                    "roc_auc": _text(r, prefix, "roc_auc"),
                    "accuracy_value": _value(r, prefix, acc),
                    "roc_auc_value": _value(r, prefix, "roc_auc"),
                }
            )
    return pd.DataFrame(rows)


def auc_matrix(runs: pd.DataFrame, metric: str = "roc_auc") -> pd.DataFrame:
    """Runs x (test + extra sets), ``metric``."""
    sets = ["test", *[s for s in extra_sets(runs) if s.startswith("eval/")]]
    return pd.DataFrame(
        [[_value(r, s, metric) for s in sets] for r in runs.to_dict("records")], index=run_labels(runs), columns=sets
    )


def rates_chart(runs: pd.DataFrame):
    """Accuracy and AUC against the test rate, one line per run (its trained rate included); None
    without ``rate/`` metrics."""
    rates = sorted({int(s.split("/")[1]) for s in extra_sets(runs) if s.startswith("rate/")})
    if not rates:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), squeeze=False)
    for label, r in zip(run_labels(runs), runs.to_dict("records")):
        points = {
            int(r["bpp"]): "test",
            **{b: f"rate/{b}" for b in rates if _value(r, f"rate/{b}", "roc_auc") is not None},
        }
        xs = sorted(points)
        for ax, name in zip(axes[0], ("accuracy", "roc_auc")):
            ys = [_value(r, points[x], _accuracy_name(r, points[x]) if name == "accuracy" else name) for x in xs]
            ax.plot(
                xs,
                [math.nan if y is None else y for y in ys],
                marker="o",
                label=f"{label} (trained bpp={int(r['bpp'])})",
            )
    for ax, name in zip(axes[0], ("accuracy (at the valid cut)", "ROC AUC")):
        ax.axhline(CHANCE, color="grey", ls="--", lw=0.8)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("test rate (bpp)")
        ax.set_title(name, fontsize=9)
    axes[0][0].legend(fontsize=6)
    fig.text(0.5, 0.01, RATE_NOTE, ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def write_extra_report(runs: pd.DataFrame, out: Path, title: str) -> list[Path]:
    """Write the files above into ``out`` (nothing when no run has extra sets, conditions or rates)."""
    from jpegai_fd.report.tables import to_markdown

    if runs.empty or not extra_sets(runs):
        return []
    table = sweep_table(runs)
    table.to_csv(out / "extra.csv", index=False)
    shown = table.drop(columns=["accuracy_value", "roc_auc_value"])
    (out / "extra.md").write_text(
        f"# {title}: every test set, condition and rate\n\nAccuracy at the validation-chosen cut (the fixed "
        f"0.5 rule where a run has no such cut) and ROC AUC, [bootstrap interval]. Chance is {CHANCE}. "
        f"{RATE_NOTE}.\n\n" + to_markdown(shown, digits=0)
    )
    matrix = auc_matrix(runs)
    (out / "extra_auc_matrix.md").write_text(
        f"# {title}: ROC AUC, runs x test sets\n\n" + to_markdown(matrix.reset_index(names="run"))
    )
    files = [out / "extra.csv", out / "extra.md", out / "extra_auc_matrix.md"]
    chart = rates_chart(runs)
    if chart is not None:
        chart.savefig(out / "extra_rates.png", dpi=100)
        plt.close(chart)
        files.append(out / "extra_rates.png")
    return files
