"""The text of one table cell: ``0.853 ± 0.013`` (value ± half the interval's width), then marks.

Half-width = (high - low) / 2, so a reader gets the interval's size at a glance; a bootstrap
percentile interval need not be symmetric, and the exact bounds are in the CSV files.
"""

from __future__ import annotations

import math

BEST_OPEN = BEST_CLOSE = "**"  # Markdown bold: the best run of its test set
SAME_AS_BEST = "≈"  # not significantly different from that best run


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def cell_text(value, low=None, high=None, marks: str = "", best: bool = False, digits: int = 3) -> str:
    """``0.853 ± 0.013`` (``0.853`` without both bounds), ``marks`` appended after a space, the
    number bold when ``best``; an en dash for a missing value."""
    if _missing(value):
        return "–"
    text = f"{float(value):.{digits}f}"
    if not _missing(low) and not _missing(high):
        text += f" ± {(float(high) - float(low)) / 2:.{digits}f}"
    if best:
        text = BEST_OPEN + text + BEST_CLOSE
    return f"{text} {marks}" if marks else text
