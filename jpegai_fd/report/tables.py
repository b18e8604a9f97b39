"""The thesis's tables from a table of runs: accuracy per configuration with ``y`` and ``y_hat`` side
by side (Tables 3.1-3.2) and training time per model and preprocessing (Table 3.3).

A results cell reads ``0.853 ± 0.013`` (value ± half its 95% interval's width; a bootstrap percentile
interval need not be symmetric, the bounds are in the CSV files), then its marks. The headline number
is test accuracy at the threshold chosen on the validation images (``test/accuracy_at_valid``). Runs
logged before such thresholds have only ``test/accuracy`` (the fixed 0.5 rule): they keep a cell, so
a table of old and new runs stays complete, marked :data:`FALLBACK_MARK` (another decision rule).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AT_VALID = "test/accuracy_at_valid"
FIXED_RULE = "test/accuracy"
# Derived columns (``with_headline``): value, its interval, and which logged metric filled it.
HEADLINE = "headline/accuracy"
SOURCE = HEADLINE + "_metric"
FALLBACK_MARK = "†"
FALLBACK_NOTE = (
    f"{FALLBACK_MARK} run logged before thresholds were chosen on validation images: `{FIXED_RULE}` "
    "at the fixed 0.5 rule, without an interval; not the same decision rule as the other cells."
)
SAME_AS_BEST = "≈"  # not significantly different from the best run of its test images (bold)
MODEL_NAMES = {"rf": "RF", "hgb": "GB"}
PREPROCESS_ORDER = ["flatten", "single", "multi"]
LATENTS = ["y", "y_hat"]


def interval_columns(runs: pd.DataFrame, metric: str) -> tuple[str, str] | None:
    """The (low, high) columns of ``metric``'s interval when the runs have them, else None."""
    low, high = metric + "_ci_low", metric + "_ci_high"
    return (low, high) if low in runs and high in runs else None


def cell_text(value, low=None, high=None, marks: str = "", best: bool = False, digits: int = 3) -> str:
    """``0.853 ± 0.013`` (``0.853`` without both bounds), ``marks`` appended after a space, the
    number bold when ``best``; an en dash for a missing value."""
    if pd.isna(value):
        return "–"
    text = f"{float(value):.{digits}f}"
    if not pd.isna(low) and not pd.isna(high):
        text += f" ± {(float(high) - float(low)) / 2:.{digits}f}"
    text = f"**{text}**" if best else text
    return f"{text} {marks}" if marks else text


def with_headline(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` plus :data:`HEADLINE`, its ``_ci_low``/``_ci_high`` and :data:`SOURCE`, row by row:
    ``test/accuracy_at_valid`` where the run logged it, else ``test/accuracy``."""

    def column(name: str) -> pd.Series:
        return runs[name].astype(float) if name in runs else pd.Series(np.nan, index=runs.index)

    new = column(AT_VALID).notna()
    headline = {
        HEADLINE + s: column(AT_VALID + s).where(new, column(FIXED_RULE + s)) for s in ("", "_ci_low", "_ci_high")
    }
    source = np.where(new, AT_VALID, np.where(column(FIXED_RULE).notna(), FIXED_RULE, None))
    return runs.assign(**headline, **{SOURCE: source})


def fell_back(runs: pd.DataFrame) -> pd.Series:
    """Boolean per run: its headline is the fixed-rule accuracy (needs :func:`with_headline`)."""
    return runs[SOURCE] == FIXED_RULE


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


def _latents(runs: pd.DataFrame) -> list[str]:
    return [*LATENTS, *sorted(set(runs["latent"]) - set(LATENTS))]


def results_table(runs: pd.DataFrame, metric: str = HEADLINE, run_ids: bool = False) -> pd.DataFrame:
    """One row per (model, bpp, component, preprocess[, encoder, dataset]); columns ``y`` and ``y_hat``
    hold ``metric`` of the two latent versions (NaN where that run is missing), then each latent's
    interval (``y_ci_low``, ``y_ci_high``, ...) where the runs log one and, for the headline, which
    logged metric filled the cell (``y_metric``: ``test/accuracy_at_valid``, or the fixed-rule
    ``test/accuracy`` of older runs). ``run_ids``: also ``y_run_id``, ... (which run fills a cell)."""
    if metric == HEADLINE:
        runs = with_headline(runs)
    suffixes = {metric: "", **dict(zip(interval_columns(runs, metric) or (), ("_ci_low", "_ci_high")))}
    suffixes |= ({SOURCE: "_metric"} if metric == HEADLINE else {}) | ({"run_id": "_run_id"} if run_ids else {})
    wide = shown_runs(runs).set_index([*row_keys(runs), "latent"])[list(suffixes)].unstack("latent")
    wide.columns = [f"{latent}{suffixes[column]}" for column, latent in wide.columns]
    latents = _latents(runs)
    order = [*latents, *(f"{lat}{s}" for lat in latents for s in list(suffixes.values())[1:])]
    return _presented(wide.reindex(columns=order).reset_index(), ["classifier", "component", "bpp"])


def results_cells(runs: pd.DataFrame, metric: str = HEADLINE, marks=None) -> pd.DataFrame:
    """:func:`results_table`'s rows with one text cell per latent for Markdown (``0.853 ± 0.013``,
    :func:`cell_text`). ``marks(run_id) -> (text, best)`` adds the paired comparison's marks;
    headline cells filled by the fixed rule get :data:`FALLBACK_MARK`."""
    table, latents = results_table(runs, metric, run_ids="run_id" in runs), _latents(runs)
    for lat in latents:
        texts = []
        for row in table.to_dict("records"):
            run_id = row.get(f"{lat}_run_id")
            mark, best = marks(run_id) if marks is not None and isinstance(run_id, str) else ("", False)
            if row.get(f"{lat}_metric") == FIXED_RULE:
                mark = " ".join(filter(None, (FALLBACK_MARK, mark)))
            texts.append(cell_text(row[lat], row.get(f"{lat}_ci_low"), row.get(f"{lat}_ci_high"), mark, best))
        table[lat] = texts
    return table.drop(
        columns=[f"{lat}{s}" for lat in latents for s in ("_ci_low", "_ci_high", "_metric", "_run_id")], errors="ignore"
    )


def timing_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean seconds per (model, component, preprocess): ``fit_s`` (training the final model, what
    Table 3.3 reports), ``tune_s`` (Optuna search), ``extract_s``, ``features_s``, and ``runs``."""
    present = [c for c in ("fit_s", "tune_s", "extract_s", "features_s") if f"time/{c}" in runs]
    grouped = runs.groupby(["classifier", "component", "preprocess"])
    out = grouped[[f"time/{c}" for c in present]].mean().set_axis(present, axis=1)
    out["runs"] = grouped.size()
    return _presented(out.reset_index(), ["classifier", "component"])


def human_duration(seconds: float) -> str:
    """``~3 min``-style text like the thesis's Table 3.3."""
    if pd.isna(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"~{seconds / 60:.0f} min"
    hours, rest = divmod(seconds, 3600)
    return f"~{hours:.0f} h {rest / 60:.0f} min"


def timing_pivot(timing: pd.DataFrame, column: str = "fit_s") -> pd.DataFrame:
    """Table 3.3's layout: rows (model, component), one column per preprocessing, human durations
    (blank where no run logged ``time/<column>``)."""
    wide = timing.assign(_s=timing.get(column)).set_index(["model", "component", "preprocess"])["_s"].unstack()
    wide = wide.reindex(columns=preprocess_order(wide.columns))
    wide.columns.name = None
    return wide.map(human_duration).reset_index()
