"""The number a results cell shows: test accuracy at the threshold chosen on the validation images
(``test/accuracy_at_valid``), with its bootstrap interval.

Runs logged before thresholds were chosen on validation images have only ``test/accuracy`` (the
fixed 0.5 rule). Such a run still gets a cell, so a table of old and new runs stays complete, but
the cell is marked (:data:`FALLBACK_MARK`): the two numbers come from different decision rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jpegai_fd.report.intervals import interval_columns

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


def _column(runs: pd.DataFrame, name: str | None) -> pd.Series:
    return runs[name].astype(float) if name is not None and name in runs else pd.Series(np.nan, index=runs.index)


def with_headline(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` plus :data:`HEADLINE`, its ``_ci_low``/``_ci_high`` and :data:`SOURCE`, row by row:
    ``test/accuracy_at_valid`` where the run logged it, else ``test/accuracy``."""
    at_valid, fixed = _column(runs, AT_VALID), _column(runs, FIXED_RULE)
    new = at_valid.notna()
    bounds = []
    for side in (0, 1):
        ci_new, ci_old = interval_columns(runs, AT_VALID), interval_columns(runs, FIXED_RULE)
        bounds.append(
            _column(runs, ci_new[side] if ci_new else None).where(new, _column(runs, ci_old[side] if ci_old else None))
        )
    return runs.assign(
        **{
            HEADLINE: at_valid.where(new, fixed),
            HEADLINE + "_ci_low": bounds[0],
            HEADLINE + "_ci_high": bounds[1],
            SOURCE: np.where(new, AT_VALID, np.where(fixed.notna(), FIXED_RULE, None)),
        }
    )


def fell_back(runs: pd.DataFrame) -> pd.Series:
    """Boolean per run: its headline is the fixed-rule accuracy (needs :func:`with_headline`)."""
    return runs[SOURCE] == FIXED_RULE
