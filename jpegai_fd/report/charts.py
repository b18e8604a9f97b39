"""Bar charts like the thesis's: Y vs YUV per preprocessing (Figure 3.1), RF vs GB per bpp
(Figures 3.5, 3.6). Input: the runs table of :func:`jpegai_fd.report.runs.load_runs`.

Conventions shared by every chart and table of the report: the rate is written as the config key
(``bpp=6`` = 0.06 bit per pixel, :data:`RATE_NOTE`); a dashed line marks chance (0.5, both classes
are balanced); a factor that did not vary in the runs is named in a note instead of leaving the
reader to wonder where the other bars are. Bars show the headline accuracy
(:mod:`jpegai_fd.report.tables`: at the validation-chosen threshold, the fixed 0.5 rule for older
runs, named in a note); error bars: the 95% interval where the runs log one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jpegai_fd.extra_eval.report import CHANCE
from jpegai_fd.report.tables import (
    FIXED_RULE,
    HEADLINE,
    fell_back,
    interval_columns,
    model_name,
    preprocess_order,
    with_headline,
)

RATE_NOTE = "bpp = config key: bits per pixel x 100 (bpp=6 is 0.06 bit/pixel)"
COMPONENTS = ("y", "yuv")


def rate_label(bpp) -> str:
    """The one way the report writes a rate."""
    return f"bpp={int(bpp)}"


def _prepared(runs: pd.DataFrame, latent: str, metric: str) -> tuple[pd.DataFrame, list[str]]:
    """The runs of ``latent`` (with the headline columns when charting it) and the notes it needs."""
    sub = runs[runs["latent"] == latent]
    if metric != HEADLINE:
        return sub, []
    sub = with_headline(sub)
    old = int(fell_back(sub).sum())
    note = f"{old} run(s) logged before validation thresholds: {FIXED_RULE} at the fixed 0.5 rule, no error bar"
    return sub, [note] if old else []


def _ylabel(metric: str) -> str:
    return "accuracy (valid threshold)" if metric == HEADLINE else metric.split("/")[-1]


def _bars(ax, cell: pd.DataFrame, index: str, column: str, metric: str, x: list, hue: list, label) -> None:
    """Grouped bars of ``metric`` (rows ``index`` = x, one bar per ``column`` value in hue), the
    value on top of each bar, error bars where the runs carry an interval, and the chance line."""
    table = cell.pivot_table(index=index, columns=column, values=metric, aggfunc="mean")
    ci = interval_columns(cell, metric)
    if ci and cell[list(ci)].isna().all(axis=None):
        ci = None  # the columns exist, but no run in this panel logged an interval
    bounds = [cell.pivot_table(index=index, columns=column, values=c, aggfunc="mean") for c in ci] if ci else None
    width = 0.8 / max(len(hue), 1)

    def at(t: pd.DataFrame, v, h) -> float:
        return t.at[v, h] if v in t.index and h in t.columns else np.nan

    for i, h in enumerate(hue):
        values = np.array([at(table, v, h) for v in x], dtype=float)
        pos = np.arange(len(x)) + (i - (len(hue) - 1) / 2) * width
        yerr = None
        if bounds is not None:
            low = np.array([at(bounds[0], v, h) for v in x], dtype=float)
            high = np.array([at(bounds[1], v, h) for v in x], dtype=float)
            # Clipped at 0: a percentile interval need not contain the point value exactly. A run
            # without an interval keeps NaN there: no error bar drawn (rather than a flat one).
            yerr = np.clip(np.vstack([values - low, high - values]), 0, None)
        bars = ax.bar(
            pos, np.nan_to_num(values), width, label=label(h), yerr=yerr, capsize=2 if yerr is not None else 0
        )
        top = values + (np.nan_to_num(yerr[1]) if yerr is not None else 0)  # the value above its error bar
        for bar, v, t in zip(bars, values, top):
            if not np.isnan(v):
                ax.text(bar.get_x() + bar.get_width() / 2, t + 0.01, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
    ax.axhline(CHANCE, color="0.35", linestyle="--", linewidth=1, label=f"chance ({CHANCE})")
    ax.set_xticks(range(len(x)), [str(v) for v in x])
    ax.set_ylim(0, 1.22)  # room above 1.0 for the values and the legend
    ax.set_yticks(np.arange(0, 1.01, 0.2))
    ax.grid(axis="y", alpha=0.3)


def _grid(n_rows: int, n_cols: int):
    fig = Figure(figsize=(4.2 * n_cols, 3.4 * n_rows + 0.5), dpi=100)
    return fig, fig.subplots(n_rows, n_cols, squeeze=False)


def _finish(fig, title: str, notes: list[str]) -> None:
    """Title, then the notes (rate convention, factors that did not vary) under the panels."""
    fig.suptitle(title, fontsize=10)
    fig.text(0.5, 0.01, "\n".join(notes), ha="center", va="bottom", fontsize=7, color="0.25")
    fig.tight_layout(rect=(0, 0.03 + 0.025 * len(notes), 1, 1))


def not_varied(sub: pd.DataFrame, factor: str, present: list, expected, shown) -> list[str]:
    """A note when ``factor`` took fewer values in the runs than the chart compares."""
    if len(present) >= len(expected) or not present:
        return []
    return [f"{factor} did not vary in these runs: only {', '.join(shown(p) for p in present)}"]


def component_chart(runs: pd.DataFrame, latent: str, metric: str = HEADLINE):
    """Y vs YUV accuracy per preprocessing; one panel per (model, bpp)."""
    sub, notes = _prepared(runs, latent, metric)
    models, bpps = sorted(sub["classifier"].unique()), sorted(sub["bpp"].unique())
    pres = preprocess_order(sub["preprocess"])
    comps = [c for c in COMPONENTS if c in set(sub["component"])]
    fig, axes = _grid(len(models), len(bpps))
    for r, model in enumerate(models):
        for c, bpp in enumerate(bpps):
            cell = sub[(sub["classifier"] == model) & (sub["bpp"] == bpp)]
            ax = axes[r, c]
            _bars(ax, cell, "preprocess", "component", metric, pres, comps, str.upper)
            ax.set_title(f"{model_name(model)}, {rate_label(bpp)} ({latent})", fontsize=9)
            ax.set_ylabel(_ylabel(metric))
            ax.legend(fontsize=7, loc="upper center", ncol=4, frameon=False)
    notes = [RATE_NOTE, *not_varied(sub, "component", comps, COMPONENTS, str.upper), *notes]
    _finish(fig, "Y vs YUV per preprocessing", notes)
    return fig


def classifier_chart(runs: pd.DataFrame, latent: str, metric: str = HEADLINE):
    """Accuracy per bpp with one bar per model; one panel per (component, preprocessing)."""
    sub, notes = _prepared(runs, latent, metric)
    comps = [c for c in COMPONENTS if c in set(sub["component"])]
    pres = preprocess_order(sub["preprocess"])
    models, bpps = sorted(sub["classifier"].unique()), sorted(sub["bpp"].unique())
    fig, axes = _grid(len(comps), len(pres))
    for r, comp in enumerate(comps):
        for c, pre in enumerate(pres):
            cell = sub[(sub["component"] == comp) & (sub["preprocess"] == pre)]
            ax = axes[r, c]
            _bars(ax, cell, "bpp", "classifier", metric, bpps, models, model_name)
            ax.set_xticks(range(len(bpps)), [rate_label(b) for b in bpps])
            ax.set_title(f"{comp.upper()}, {pre} ({latent})", fontsize=9)
            ax.set_ylabel(_ylabel(metric))
            ax.legend(fontsize=7, loc="upper center", ncol=4, frameon=False)
    notes = [RATE_NOTE, *not_varied(sub, "classifier", models, ("rf", "hgb"), model_name), *notes]
    _finish(fig, " vs ".join(model_name(m) for m in models) + " per bpp", notes)
    return fig
