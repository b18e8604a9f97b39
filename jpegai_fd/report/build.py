"""Write the report files for a table of runs: results and timing tables (Markdown, CSV), charts,
and, given the paired comparisons, comparisons.md/.csv with their marks in the results tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jpegai_fd.extra_eval.report import CHANCE, to_markdown
from jpegai_fd.report.charts import RATE_NOTE, classifier_chart, component_chart
from jpegai_fd.report.comparisons import Comparisons, write_comparisons
from jpegai_fd.report.extra import write_extra_report
from jpegai_fd.report.tables import (
    AT_VALID,
    FALLBACK_NOTE,
    FIXED_RULE,
    SAME_AS_BEST,
    SOURCE,
    results_cells,
    results_table,
)
from jpegai_fd.report.tables import timing_pivot, timing_table, with_headline

AUC = "test/roc_auc"


def _notes(runs: pd.DataFrame, comparisons: Comparisons | None, metric: str) -> str:
    lines = [f"Cells: `{metric}` ± half the width of its 95% bootstrap interval (bounds in the CSV file)."]
    if metric == AT_VALID and with_headline(runs)[SOURCE].eq(FIXED_RULE).any():
        lines.append(FALLBACK_NOTE)
    if comparisons is not None:
        lines.append(
            f"**Bold**: the best run (highest test ROC AUC) of those scored on the same test images; "
            f"{SAME_AS_BEST}: not significantly different from it (McNemar on the decisions and paired bootstrap "
            f"on the AUC, both p >= {comparisons.alpha:g}; p-values per comparison, uncorrected); no mark: "
            "significantly different, or not comparable. Details and the runs not compared: comparisons.md."
        )
    return "\n".join(f"- {line}" for line in lines) + "\n"


def write_report(runs: pd.DataFrame, out: Path, title: str, comparisons: Comparisons | None = None) -> list[Path]:
    """results.md/.csv (and auc.csv), timing.md/.csv, the charts per latent, comparisons.md/.csv and the
    extra files into ``out``; returns the files in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    marks = comparisons.marks if comparisons is not None else None
    results, timing = results_table(runs), timing_table(runs)
    results.to_csv(out / "results.csv", index=False)
    timing.to_csv(out / "timing.csv", index=False)
    md = (
        f"# {title}\n\nTest accuracy at the threshold chosen on the validation images, `y` and `y_hat` side by "
        f"side ({len(runs)} runs; chance is {CHANCE}). {RATE_NOTE}.\n\n"
        + to_markdown(results_cells(runs, marks=marks))
        + "\n"
        + _notes(runs, comparisons, AT_VALID)
    )
    if AUC in runs and runs[AUC].notna().any():
        results_table(runs, AUC).to_csv(out / "auc.csv", index=False)
        md += (
            "\n## ROC AUC (threshold-free; auc.csv)\n\n"
            + to_markdown(results_cells(runs, AUC, marks=marks))
            + "\n"
            + _notes(runs, comparisons, AUC)
        )
    (out / "results.md").write_text(md)
    if comparisons is not None:
        write_comparisons(comparisons, out, title)
    (out / "timing.md").write_text(
        f"# {title}: time per job (mean over bpp and latent)\n\n## Training the final model (fit)\n\n"
        + to_markdown(timing_pivot(timing, "fit_s"))
        + "\n## Hyperparameter search (Optuna, all trials)\n\n"
        + to_markdown(timing_pivot(timing, "tune_s"))
        + "\n## Seconds (timing.csv)\n\n"
        + to_markdown(timing, digits=2)
    )
    for latent in sorted(runs["latent"].unique()):
        component_chart(runs, latent).savefig(out / f"y_vs_yuv_{latent}.png", dpi=100)
        classifier_chart(runs, latent).savefig(out / f"classifiers_by_bpp_{latent}.png", dpi=100)
    write_extra_report(runs, out, title)  # extra test sets, conditions, rates, when the runs have them
    return sorted(out.iterdir())
