"""Write the report files for a table of runs: results and timing tables (Markdown, CSV) and charts."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from jpegai_fd.report.charts import CHANCE, RATE_NOTE, classifier_chart, component_chart
from jpegai_fd.report.tables import results_table, timing_pivot, timing_table, to_markdown


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(runs: pd.DataFrame, out: Path, title: str) -> list[Path]:
    """Write into ``out``: results.md/.csv (accuracy, y and y_hat side by side), timing.md/.csv,
    y_vs_yuv_<latent>.png and classifiers_by_bpp_<latent>.png per latent. Returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    results, timing = results_table(runs), timing_table(runs)
    results.to_csv(out / "results.csv", index=False)
    timing.to_csv(out / "timing.csv", index=False)
    (out / "results.md").write_text(
        f"# {title}\n\nTest accuracy, `y` and `y_hat` side by side ({len(runs)} runs; chance is {CHANCE}). "
        f"{RATE_NOTE}.\n\n" + to_markdown(results)
    )
    (out / "timing.md").write_text(
        f"# {title}: time per job (mean over bpp and latent)\n\n## Training the final model (fit)\n\n"
        + to_markdown(timing_pivot(timing, "fit_s"))
        + "\n## Hyperparameter search (Optuna, all trials)\n\n"
        + to_markdown(timing_pivot(timing, "tune_s"))
        + "\n## Seconds (timing.csv)\n\n"
        + to_markdown(timing, digits=2)
    )
    for latent in sorted(runs["latent"].unique()):
        _save(component_chart(runs, latent), out / f"y_vs_yuv_{latent}.png")
        _save(classifier_chart(runs, latent), out / f"classifiers_by_bpp_{latent}.png")
    return sorted(out.iterdir())
