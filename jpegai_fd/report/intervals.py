"""Where a runs table keeps a metric's 95% confidence interval.

The job logs ``<metric>_ci_low`` / ``<metric>_ci_high`` (``jpegai_fd.scoring.evaluate``); a runs
table built by hand may carry ``<metric>_low`` / ``<metric>_high`` (the report's earlier
convention, still accepted so such tables keep their error bars).
"""

from __future__ import annotations

import pandas as pd

SUFFIXES = (("_ci_low", "_ci_high"), ("_low", "_high"))


def interval_columns(runs: pd.DataFrame, metric: str) -> tuple[str, str] | None:
    """The (low, high) columns of ``metric``'s interval when the runs have them, else None."""
    for low, high in SUFFIXES:
        if metric + low in runs and metric + high in runs:
            return metric + low, metric + high
    return None
