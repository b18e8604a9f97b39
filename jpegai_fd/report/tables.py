"""The thesis's tables from a table of runs: accuracy per configuration with ``y`` and ``y_hat`` side
by side (Tables 3.1-3.2) and training time per model and preprocessing (Table 3.3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

MODEL_NAMES = {"rf": "RF", "hgb": "GB"}
PREPROCESS_ORDER = ["flatten", "single", "multi"]
LATENTS = ["y", "y_hat"]


def model_name(classifier: str) -> str:
    return MODEL_NAMES.get(classifier, classifier.upper())


def preprocess_order(values) -> list[str]:
    """The preprocessing methods among ``values``, thesis order first (flatten, single, multi), others after."""
    present = set(values)
    return [p for p in PREPROCESS_ORDER if p in present] + sorted(present - set(PREPROCESS_ORDER))


def _presented(df: pd.DataFrame, sort_keys: list[str]) -> pd.DataFrame:
    """Rows sorted by ``sort_keys`` then preprocessing (thesis order), with the thesis's model names
    and upper-case components, ``classifier`` renamed ``model``."""
    rank = {p: i for i, p in enumerate(preprocess_order(df["preprocess"]))}
    out = df.assign(_pre=df["preprocess"].map(rank)).sort_values([*sort_keys, "_pre"]).drop(columns="_pre")
    out["classifier"] = out["classifier"].map(model_name)
    out["component"] = out["component"].str.upper()
    out.columns.name = None
    return out.rename(columns={"classifier": "model"}).reset_index(drop=True)


def row_keys(runs: pd.DataFrame) -> list[str]:
    """Columns that identify a table row: the thesis's four, plus encoder/dataset when they vary."""
    extra = [f for f in ("encoder", "dataset") if runs[f].nunique() > 1]
    return ["classifier", "bpp", "component", "preprocess", *extra]


def results_table(runs: pd.DataFrame, metric: str = "test/accuracy") -> pd.DataFrame:
    """One row per (model, bpp, component, preprocess[, encoder, dataset]); columns ``y`` and ``y_hat``
    hold ``metric`` of the two latent versions (NaN where that run is missing)."""
    keys = row_keys(runs)
    wide = runs.pivot_table(index=keys, columns="latent", values=metric, aggfunc="last")
    wide = wide.reindex(columns=[*LATENTS, *[c for c in wide.columns if c not in LATENTS]])
    return _presented(wide.reset_index(), ["classifier", "component", "bpp"])


def timing_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean seconds per (model, component, preprocess): ``fit_s`` (training the final model, what
    Table 3.3 reports), ``tune_s`` (Optuna search), ``extract_s``, ``features_s``, and ``runs``."""
    cols = {
        "time/fit_s": "fit_s",
        "time/tune_s": "tune_s",
        "time/extract_s": "extract_s",
        "time/features_s": "features_s",
    }
    present = {k: v for k, v in cols.items() if k in runs}
    grouped = runs.groupby(["classifier", "component", "preprocess"])
    out = grouped[list(present)].mean().rename(columns=present)
    out["runs"] = grouped.size()
    return _presented(out.reset_index(), ["classifier", "component"])


def human_duration(seconds: float) -> str:
    """``~3 min``-style text like the thesis's Table 3.3."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"~{seconds / 60:.0f} min"
    hours, rest = divmod(seconds, 3600)
    return f"~{hours:.0f} h {rest / 60:.0f} min"


def timing_pivot(timing: pd.DataFrame, column: str = "fit_s") -> pd.DataFrame:
    """Table 3.3's layout: rows (model, component), one column per preprocessing, human durations."""
    wide = timing.pivot_table(index=["model", "component"], columns="preprocess", values=column, aggfunc="mean")
    wide = wide.reindex(columns=preprocess_order(wide.columns))
    wide.columns.name = None
    return wide.map(human_duration).reset_index()


def to_markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub Markdown table; floats to ``digits`` decimals, missing values as an en dash."""

    def cell(v) -> str:
        if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v)):
            return "–"
        if isinstance(v, (float, np.floating)):
            return f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"
