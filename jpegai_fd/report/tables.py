"""The thesis's tables from a table of runs: accuracy per configuration with ``y`` and ``y_hat`` side
by side (Tables 3.1-3.2) and training time per model and preprocessing (Table 3.3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from jpegai_fd.report.cells import cell_text
from jpegai_fd.report.headline import FALLBACK_MARK, FIXED_RULE, HEADLINE, SOURCE, with_headline
from jpegai_fd.report.intervals import interval_columns

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


def shown_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs the results tables show: the latest per (row, latent) cell (``runs`` is in start
    order). Deduplicated once here so every column of a cell, and its paired comparison, come from
    the same run."""
    return runs.drop_duplicates([*row_keys(runs), "latent"], keep="last").reset_index(drop=True)


def _wide(runs: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` of the shown runs, one row per table row, one column per latent."""
    keys = row_keys(runs)
    wide = shown_runs(runs).set_index([*keys, "latent"])[column].unstack("latent")
    return wide.reindex(columns=[*LATENTS, *sorted(c for c in wide.columns if c not in LATENTS)])


def results_table(runs: pd.DataFrame, metric: str = HEADLINE, run_ids: bool = False) -> pd.DataFrame:
    """One row per (model, bpp, component, preprocess[, encoder, dataset]); columns ``y`` and ``y_hat``
    hold ``metric`` of the two latent versions (NaN where that run is missing), then each latent's
    interval (``y_ci_low``, ``y_ci_high``, ...) where the runs log one and, for the headline, which
    logged metric filled the cell (``y_metric``: ``test/accuracy_at_valid``, or the fixed-rule
    ``test/accuracy`` of older runs). ``run_ids``: also ``y_run_id``, ... (which run fills a cell)."""
    if metric == HEADLINE:
        runs = with_headline(runs)
    values = _wide(runs, metric)
    latents = list(values.columns)
    ci = interval_columns(runs, metric)
    extra = [("_ci_low", ci[0]), ("_ci_high", ci[1])] if ci else []
    if metric == HEADLINE:
        extra.append(("_metric", SOURCE))
    if run_ids:
        extra.append(("_run_id", "run_id"))
    parts = [values] + [_wide(runs, column).reindex(columns=latents).add_suffix(suffix) for suffix, column in extra]
    order = latents + [f"{lat}{suffix}" for lat in latents for suffix, _ in extra]
    return _presented(pd.concat(parts, axis=1)[order].reset_index(), ["classifier", "component", "bpp"])


def results_cells(runs: pd.DataFrame, metric: str = HEADLINE, marks=None) -> pd.DataFrame:
    """:func:`results_table`'s rows with one text cell per latent for Markdown (``0.853 ± 0.013``,
    :func:`jpegai_fd.report.cells.cell_text`). ``marks(run_id) -> (text, best)`` adds the paired
    comparison's marks; headline cells filled by the fixed rule get :data:`FALLBACK_MARK`."""
    table = results_table(runs, metric, run_ids="run_id" in runs)
    latents = list(_wide(runs if metric != HEADLINE else with_headline(runs), metric).columns)
    for lat in latents:
        texts = []
        for _, row in table.iterrows():
            run_id = row.get(f"{lat}_run_id")
            mark, best = marks(run_id) if marks is not None and isinstance(run_id, str) else ("", False)
            if row.get(f"{lat}_metric") == FIXED_RULE:
                mark = " ".join(filter(None, (FALLBACK_MARK, mark)))
            texts.append(cell_text(row[lat], row.get(f"{lat}_ci_low"), row.get(f"{lat}_ci_high"), mark, best))
        table[lat] = texts
    helpers = [f"{lat}{suffix}" for lat in latents for suffix in ("_ci_low", "_ci_high", "_metric", "_run_id")]
    return table.drop(columns=[c for c in helpers if c in table])


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
