"""Bar charts like the thesis's: Y vs YUV per preprocessing (Figure 3.1), RF vs GB per bpp
(Figures 3.5, 3.6). Input: the runs table of :func:`jpegai_fd.report.runs.load_runs`."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from jpegai_fd.report.tables import model_name, preprocess_order  # noqa: E402


def _bars(ax, table: pd.DataFrame, x: list, hue: list, label) -> None:
    """Grouped bars of ``table`` (index x, columns hue) with the value on top of each bar."""
    width = 0.8 / max(len(hue), 1)
    for i, h in enumerate(hue):
        values = [table.at[v, h] if v in table.index and h in table.columns else np.nan for v in x]
        pos = np.arange(len(x)) + (i - (len(hue) - 1) / 2) * width
        bars = ax.bar(pos, np.nan_to_num(values), width, label=label(h))
        for bar, v in zip(bars, values):
            if not np.isnan(v):
                ax.text(bar.get_x() + bar.get_width() / 2, v + 0.01, f"{v:.3f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(x)), [str(v) for v in x])
    ax.set_ylim(0, 1.1)
    ax.grid(axis="y", alpha=0.3)


def _grid(n_rows: int, n_cols: int):
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.2 * n_cols, 3.4 * n_rows), dpi=100, squeeze=False)
    return fig, axes


def component_chart(runs: pd.DataFrame, latent: str, metric: str = "test/accuracy"):
    """Y vs YUV accuracy per preprocessing; one panel per (model, bpp)."""
    sub = runs[runs["latent"] == latent]
    models, bpps = sorted(sub["classifier"].unique()), sorted(sub["bpp"].unique())
    pres = preprocess_order(sub["preprocess"])
    comps = [c for c in ("y", "yuv") if c in set(sub["component"])]
    fig, axes = _grid(len(models), len(bpps))
    for r, model in enumerate(models):
        for c, bpp in enumerate(bpps):
            cell = sub[(sub["classifier"] == model) & (sub["bpp"] == bpp)]
            table = cell.pivot_table(index="preprocess", columns="component", values=metric, aggfunc="mean")
            ax = axes[r, c]
            _bars(ax, table, pres, comps, str.upper)
            ax.set_title(f"{model_name(model)}, bpp {bpp / 100:.2f} ({latent})", fontsize=9)
            ax.set_ylabel(metric.split("/")[-1])
            ax.legend(fontsize=7, loc="upper left")
    fig.suptitle("Y vs YUV per preprocessing", fontsize=10)
    fig.tight_layout()
    return fig


def classifier_chart(runs: pd.DataFrame, latent: str, metric: str = "test/accuracy"):
    """Accuracy per bpp with one bar per model; one panel per (component, preprocessing)."""
    sub = runs[runs["latent"] == latent]
    comps = [c for c in ("y", "yuv") if c in set(sub["component"])]
    pres = preprocess_order(sub["preprocess"])
    models, bpps = sorted(sub["classifier"].unique()), sorted(sub["bpp"].unique())
    fig, axes = _grid(len(comps), len(pres))
    for r, comp in enumerate(comps):
        for c, pre in enumerate(pres):
            cell = sub[(sub["component"] == comp) & (sub["preprocess"] == pre)]
            table = cell.pivot_table(index="bpp", columns="classifier", values=metric, aggfunc="mean")
            ax = axes[r, c]
            _bars(ax, table, bpps, models, model_name)
            ax.set_title(f"{comp.upper()}, {pre} ({latent})", fontsize=9)
            ax.set_xlabel("bpp x 100")
            ax.set_ylabel(metric.split("/")[-1])
            ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(" vs ".join(model_name(m) for m in models) + " per bpp", fontsize=10)
    fig.tight_layout()
    return fig
