"""The per-run table of every scored set and condition (``value [low, high]``, ``-`` where a one-class row has
none) and the charts against strength and rate."""

import math

import pandas as pd
from matplotlib.figure import Figure

CHANCE = 0.5
COLUMNS = dict(accuracy_at_valid="accuracy", balanced_accuracy_at_valid="balanced acc.", roc_auc="ROC AUC")
COLUMNS |= dict(average_precision="AP", false_alarm_rate_at_valid="false alarms", accuracy_fake_at_valid="fake acc.")
STRENGTH = dict(jpeg="JPEG quality", scale="scale factor", blur="blur sigma (pixels)", codec="recompression bpp")
STRENGTH |= dict(noise="noise sigma (grey levels)", crop="kept fraction of the side")
CHART_METRICS = (("accuracy_at_valid", "accuracy (at the valid cut)"), ("roc_auc", "ROC AUC"))


def entry_rows(entries) -> pd.DataFrame:
    """One row per entry: set, group, kind, strength, bpp and every metric (unprefixed)."""
    rows = [{"set": e.prefix, "group": e.group, "kind": e.kind, "strength": e.strength, "bpp": e.bpp} for e in entries]
    return pd.DataFrame([{**row, **e.metrics} for row, e in zip(rows, entries)])


def to_markdown(df: pd.DataFrame, digits: int = 3, missing: str = "–") -> str:
    """``df`` as a GitHub table, floats to ``digits`` decimals (number parsing off: text cells like ``0.500`` stay)."""
    text = df.astype(object).map(lambda v: missing if pd.isna(v) else f"{v:.{digits}f}" if isinstance(v, float) else v)
    return text.to_markdown(index=False, tablefmt="github", stralign=None, numalign=None, disable_numparse=True) + "\n"


def cell(metrics, name: str, missing: str = "-") -> str:
    """``0.850 [0.780, 0.910]``, ``0.850`` or ``missing``."""
    value, low, high = (metrics.get(k) for k in (name, f"{name}_ci_low", f"{name}_ci_high"))
    if pd.isna(value):
        return missing
    return f"{value:.3f}" if pd.isna(low) or pd.isna(high) else f"{value:.3f} [{low:.3f}, {high:.3f}]"


def table_markdown(rows: pd.DataFrame, title: str = "") -> str:
    records = rows.to_dict("records")
    table = pd.DataFrame({"set": rows["set"], "bpp": rows["bpp"].astype(int), "real": rows.get("n_real")})
    table = table.assign(
        fake=rows.get("n_fake"), **{label: [cell(r, k) for r in records] for k, label in COLUMNS.items()}
    )
    return (f"# {title}\n\n" if title else "") + to_markdown(table, digits=0, missing="-")


def _line(ax, frame: pd.DataFrame, x: str, metric: str, **kw) -> None:
    y = frame[metric] if metric in frame else pd.Series(math.nan, index=frame.index)
    low, high = frame.get(f"{metric}_ci_low"), frame.get(f"{metric}_ci_high")
    yerr = None if low is None or high is None else [(y - low).clip(lower=0), (high - y).clip(lower=0)]
    ax.errorbar(frame[x], y, yerr=yerr, marker="o", capsize=3, **kw)


def robustness_chart(rows: pd.DataFrame, title: str = ""):
    """Accuracy and AUC against strength, a panel per perturbation kind (solid: clean test); None without."""
    if (robust := rows[rows["group"] == "robust"]).empty:
        return None
    kinds = list(dict.fromkeys(robust["kind"]))
    clean = rows[rows["group"] == "test"].iloc[0]
    fig = Figure(figsize=(3.2 * len(kinds) + 0.6, 3.4))
    axes = fig.subplots(1, len(kinds), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        part = robust[robust["kind"] == kind].sort_values("strength")
        for (metric, label), color in zip(CHART_METRICS, ("tab:blue", "tab:orange")):
            _line(ax, part, "strength", metric, label=label, color=color)
            if metric in clean and not math.isnan(clean[metric]):
                ax.axhline(clean[metric], color=color, lw=0.8, alpha=0.6)
        ax.axhline(CHANCE, color="grey", ls="--", lw=0.8)
        ax.set(title=kind, xlabel=STRENGTH.get(kind, "strength"), ylim=(0, 1.05))
    axes[0][0].set_ylabel("score (solid line: clean test)")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(title or "robustness: scores against perturbation strength", fontsize=9)
    fig.tight_layout()
    return fig


def rate_chart(rows: pd.DataFrame, title: str = ""):
    """Accuracy and AUC against the test rate, a line per run (``position``); None without other rates."""
    rates = rows[rows["set"].eq("test") | rows["set"].str.startswith("rate/")].sort_values("bpp")
    if rates["set"].eq("test").all():
        return None
    fig = Figure(figsize=(9, 3.6))
    axes = fig.subplots(1, 2)
    for _, run in rates.groupby("position", sort=False) if "position" in rates else [(0, rates)]:
        trained = f"trained at bpp={int(run.loc[run['set'] == 'test', 'bpp'].iloc[0])}"
        for ax, (metric, _) in zip(axes, CHART_METRICS):
            label = f"{run['run'].iloc[0]} ({trained})" if "run" in run else trained
            _line(ax, run, "bpp", metric, label=label)
    for ax, (_, name) in zip(axes, CHART_METRICS):
        ax.axhline(CHANCE, color="grey", ls="--", lw=0.8)
        ax.set(xlabel="test rate, bpp = bits per pixel x 100", ylim=(0, 1.05))
        ax.set_title(name, fontsize=9)
    axes[0].legend(fontsize=6, loc="lower right")
    fig.suptitle(title or "scores against the test rate", fontsize=9)
    fig.tight_layout()
    return fig
