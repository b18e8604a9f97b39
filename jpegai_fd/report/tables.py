"""The thesis's tables from a table of runs: accuracy with ``y`` and ``y_hat`` side by side (Tables 3.1-3.2) and
training time per model and preprocessing (Table 3.3); how to read a cell: docs/how-to/reports.md."""

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
    low, high = metric + "_ci_low", metric + "_ci_high"
    return (low, high) if low in runs and high in runs else None


def cell_text(value, low=None, high=None, marks: str = "", best: bool = False, digits: int = 3) -> str:
    """``0.853 ± 0.013`` (``0.853`` without both bounds), then ``marks``, bold when ``best``; – when missing."""
    if pd.isna(value):
        return "–"
    text = f"{float(value):.{digits}f}"
    if not pd.isna(low) and not pd.isna(high):
        text += f" ± {(float(high) - float(low)) / 2:.{digits}f}"
    text = f"**{text}**" if best else text
    return f"{text} {marks}" if marks else text


def with_headline(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` plus :data:`HEADLINE` (with ``_ci_low``/``_ci_high``) and :data:`SOURCE`: at-valid, else fixed."""

    def column(name: str) -> pd.Series:
        return runs[name].astype(float) if name in runs else pd.Series(np.nan, index=runs.index)

    new = column(AT_VALID).notna()
    headline = {
        HEADLINE + s: column(AT_VALID + s).where(new, column(FIXED_RULE + s)) for s in ("", "_ci_low", "_ci_high")
    }
    source = np.where(new, AT_VALID, np.where(column(FIXED_RULE).notna(), FIXED_RULE, None))
    return runs.assign(**headline, **{SOURCE: source})


def model_name(classifier: str) -> str:
    return MODEL_NAMES.get(classifier, classifier.upper())


def preprocess_order(values) -> list[str]:
    present = set(values)
    return [p for p in PREPROCESS_ORDER if p in present] + sorted(present - set(PREPROCESS_ORDER))


def _presented(df: pd.DataFrame, sort_keys: list[str]) -> pd.DataFrame:
    """Rows sorted by ``sort_keys`` and preprocessing, with the thesis's names (``classifier`` -> ``model``)."""
    rank = {p: i for i, p in enumerate(preprocess_order(df["preprocess"]))}
    out = df.assign(_pre=df["preprocess"].map(rank)).sort_values([*sort_keys, "_pre"]).drop(columns="_pre")
    out["classifier"] = out["classifier"].map(model_name)
    out["component"] = out["component"].str.upper()
    out.columns.name = None
    return out.rename(columns={"classifier": "model"}).reset_index(drop=True)


def row_keys(runs: pd.DataFrame) -> list[str]:
    extra = [f for f in ("encoder", "dataset", "holdout") if f in runs and runs[f].nunique() > 1]
    return ["classifier", "bpp", "component", "preprocess", *extra]


def shown_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The latest run per (row, latent) cell: every column of a cell, and its comparison, from one run."""
    return runs.drop_duplicates([*row_keys(runs), "latent"], keep="last").reset_index(drop=True)


def _latents(runs: pd.DataFrame) -> list[str]:
    return [*LATENTS, *sorted(set(runs["latent"]) - set(LATENTS))]


def results_table(runs: pd.DataFrame, metric: str = HEADLINE, run_ids: bool = False) -> pd.DataFrame:
    """One row per (model, bpp, component, preprocess[, encoder, dataset]); ``metric`` per latent (``y``,
    ``y_hat``), then ``y_ci_low``/``y_ci_high``..., for the headline ``y_metric`` (the metric that filled
    it) and with ``run_ids`` ``y_run_id``..."""
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
    """:func:`results_table` with one text cell per latent (:func:`cell_text`); ``marks(run_id) -> (text,
    best)`` adds the comparison's marks, fixed-rule cells get :data:`FALLBACK_MARK`."""
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
    """Mean ``fit_s``, ``tune_s``, ``extract_s``, ``features_s`` and ``runs`` per (model, component, preprocess)."""
    present = [c for c in ("fit_s", "tune_s", "extract_s", "features_s") if f"time/{c}" in runs]
    grouped = runs.groupby(["classifier", "component", "preprocess"])
    out = grouped[[f"time/{c}" for c in present]].mean().set_axis(present, axis=1)
    out["runs"] = grouped.size()
    return _presented(out.reset_index(), ["classifier", "component"])


def human_duration(seconds: float) -> str:
    if pd.isna(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"~{seconds / 60:.0f} min"
    hours, rest = divmod(seconds, 3600)
    return f"~{hours:.0f} h {rest / 60:.0f} min"


def timing_pivot(timing: pd.DataFrame, column: str = "fit_s") -> pd.DataFrame:
    """Table 3.3's layout: (model, component) x preprocessing, human durations (blank: not logged)."""
    wide = timing.assign(_s=timing.get(column)).set_index(["model", "component", "preprocess"])["_s"].unstack()
    wide = wide.reindex(columns=preprocess_order(wide.columns))
    wide.columns.name = None
    return wide.map(human_duration).reset_index()
