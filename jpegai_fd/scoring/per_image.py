"""The per-image test score artifact (``scores/test_scores.csv``): what any two runs need to be
compared later (:func:`jpegai_fd.scoring.paired.align_runs`).

One row per scored test image: ``id`` (the dataset id), ``label`` (1 real, 0 fake), ``p_fake``
(the image score the run thresholds: P(fake), or the share of patches voting fake for the
multi-patch vote; 6 decimals), ``pred`` (the decision at the run's validation threshold, 1 real,
0 fake). About 25 bytes per image: 3,000 images ~ 75 kB.
"""

from __future__ import annotations

import csv
import io

import numpy as np

COLUMNS = ("id", "label", "p_fake", "pred")


def scores_csv(ids: np.ndarray, y_true: np.ndarray, p_fake: np.ndarray, y_pred: np.ndarray) -> str:
    """CSV text of the artifact; all arrays of one length, in the same image order."""
    if not len(ids) == len(y_true) == len(p_fake) == len(y_pred):
        raise ValueError("ids, labels, scores and decisions must have one entry per image")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in zip(ids, y_true, p_fake, y_pred):
        writer.writerow((row[0], int(row[1]), f"{float(row[2]):.6f}", int(row[3])))
    return out.getvalue()


def read_scores_csv(text: str) -> dict[str, np.ndarray]:
    """The artifact as arrays: ``id`` (str), ``y_true`` and ``y_pred`` (int8), ``p_fake`` (float64)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and tuple(rows[0]) != COLUMNS:
        raise ValueError(f"not a per-image score file: columns {tuple(rows[0])}, expected {COLUMNS}")
    return {
        "id": np.array([r["id"] for r in rows], dtype=str),
        "y_true": np.array([int(r["label"]) for r in rows], dtype=np.int8),
        "p_fake": np.array([float(r["p_fake"]) for r in rows], dtype=np.float64),
        "y_pred": np.array([int(r["pred"]) for r in rows], dtype=np.int8),
    }
