"""Bar charts like the thesis's: Y vs YUV per preprocessing (Figure 3.1), RF vs GB per bpp (Figures 3.5,
3.6), of the headline accuracy with its 95% interval. The rate is the config key (:data:`RATE_NOTE`), a
dashed line marks chance, and a note names a factor that did not vary."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jpegai_fd.extra_eval.report import CHANCE
from jpegai_fd.report.tables import FIXED_RULE, HEADLINE, SOURCE, interval_columns, model_name, preprocess_order
from jpegai_fd.report.tables import with_headline

RATE_NOTE = "bpp = config key: bits per pixel x 100 (bpp=6 is 0.06 bit/pixel)"
COMPONENTS = ("y", "yuv")
LABELS = {"classifier": model_name, "bpp": lambda bpp: f"bpp={int(bpp)}", "component": str.upper, "preprocess": str}


def _bars(ax, cell: pd.DataFrame, x: str, hue: str, metric: str, xs: list, hues: list) -> None:
    """Grouped bars of ``metric`` per ``x`` and ``hue``, values on top, error bars, the chance line."""

    def wide(column: str) -> np.ndarray:
        table = cell.pivot_table(index=x, columns=hue, values=column, aggfunc="mean")
        return table.reindex(index=xs, columns=hues).to_numpy(dtype=float)

    ci = interval_columns(cell, metric)
    if ci and cell[list(ci)].isna().all(axis=None):
        ci = None  # the columns exist, but no run in this panel logged an interval
    values, bounds = wide(metric), [wide(c) for c in ci] if ci else None
    width = 0.8 / max(len(hues), 1)
    for i, h in enumerate(hues):
        v = values[:, i]
        # Clipped at 0: a percentile interval need not contain the point value exactly. A run
        # without an interval keeps NaN there: no error bar drawn (rather than a flat one).
        yerr = np.clip(np.vstack([v - bounds[0][:, i], bounds[1][:, i] - v]), 0, None) if bounds else None
        pos = np.arange(len(xs)) + (i - (len(hues) - 1) / 2) * width
        bars = ax.bar(pos, np.nan_to_num(v), width, label=LABELS[hue](h), yerr=yerr, capsize=2 if bounds else 0)
        ax.bar_label(bars, ["" if np.isnan(t) else f"{t:.3f}" for t in v], padding=2, fontsize=7)  # above the error bar
    ax.axhline(CHANCE, color="0.35", linestyle="--", linewidth=1, label=f"chance ({CHANCE})")
    ax.set_xticks(range(len(xs)), [LABELS[x](v) for v in xs])
    ax.set(ylim=(0, 1.22), yticks=np.arange(0, 1.01, 0.2))  # room above 1.0 for the values and the legend
    ax.grid(axis="y", alpha=0.3)


def _chart(runs: pd.DataFrame, latent: str, metric: str, panels: tuple[str, str], x: str, hue: str, expected, per: str):
    sub = runs[runs["latent"] == latent]
    notes = [RATE_NOTE]
    if metric == HEADLINE:
        sub = with_headline(sub)
        if old := int(sub[SOURCE].eq(FIXED_RULE).sum()):
            notes.append(
                f"{old} run(s) logged before validation thresholds: {FIXED_RULE} at the fixed 0.5 rule, no error bar"
            )
    values = {f: preprocess_order(sub[f]) if f == "preprocess" else sorted(sub[f].unique()) for f in (*panels, x, hue)}
    rows, cols = values[panels[0]], values[panels[1]]
    fig = Figure(figsize=(4.2 * len(cols), 3.4 * len(rows) + 0.5), dpi=100)
    axes = fig.subplots(len(rows), len(cols), squeeze=False)
    for r, a in enumerate(rows):
        for c, b in enumerate(cols):
            ax = axes[r, c]
            _bars(ax, sub[(sub[panels[0]] == a) & (sub[panels[1]] == b)], x, hue, metric, values[x], values[hue])
            ax.set_title(f"{LABELS[panels[0]](a)}, {LABELS[panels[1]](b)} ({latent})", fontsize=9)
            ax.set_ylabel("accuracy (valid threshold)" if metric == HEADLINE else metric.split("/")[-1])
            ax.legend(fontsize=7, loc="upper center", ncol=4, frameon=False)
    if 0 < len(values[hue]) < len(expected):
        notes.insert(1, f"{hue} did not vary in these runs: only {', '.join(LABELS[hue](p) for p in values[hue])}")
    fig.suptitle(" vs ".join(LABELS[hue](h) for h in values[hue]) + f" per {per}", fontsize=10)
    fig.text(0.5, 0.01, "\n".join(notes), ha="center", va="bottom", fontsize=7, color="0.25")
    fig.tight_layout(rect=(0, 0.03 + 0.025 * len(notes), 1, 1))
    return fig


def component_chart(runs: pd.DataFrame, latent: str, metric: str = HEADLINE):
    return _chart(runs, latent, metric, ("classifier", "bpp"), "preprocess", "component", COMPONENTS, "preprocessing")


def classifier_chart(runs: pd.DataFrame, latent: str, metric: str = HEADLINE):
    return _chart(runs, latent, metric, ("component", "preprocess"), "bpp", "classifier", ("rf", "hgb"), "bpp")
