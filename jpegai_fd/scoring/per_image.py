"""``scores/test_scores.csv``, what two runs need to be compared later: per test image ``id``, ``label`` (1 real, 0
fake), ``p_fake`` (calibrated, as ``predict`` returns; 6 decimals), ``pred`` (at the valid cut) and ``score`` (the raw
score the cut applies to; absent in files of earlier runs)."""

import csv
import io

import numpy as np

COLUMNS = ("id", "label", "p_fake", "pred", "score")


def scores_csv(
    ids: np.ndarray, y_true: np.ndarray, p_fake: np.ndarray, y_pred: np.ndarray, score: np.ndarray | None = None
) -> str:
    """CSV text of the artifact (``score`` defaults to ``p_fake``: a run without calibration)."""
    score = p_fake if score is None else score
    if not len(ids) == len(y_true) == len(p_fake) == len(y_pred) == len(score):
        raise ValueError("ids, labels, scores and decisions must have one entry per image")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in zip(ids, y_true, p_fake, y_pred, score):
        writer.writerow((row[0], int(row[1]), f"{float(row[2]):.6f}", int(row[3]), f"{float(row[4]):.6f}"))
    return out.getvalue()


def read_scores_csv(text: str) -> dict[str, np.ndarray]:
    """The artifact as arrays: ``id``, ``y_true``, ``p_fake``, ``y_pred``, ``score``."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if rows and tuple(rows[0]) not in (COLUMNS, COLUMNS[:4]):
        raise ValueError(f"not a per-image score file: columns {tuple(rows[0])}, expected {COLUMNS}")
    p_fake = np.array([float(r["p_fake"]) for r in rows], dtype=np.float64)
    return {
        "id": np.array([r["id"] for r in rows], dtype=str),
        "y_true": np.array([int(r["label"]) for r in rows], dtype=np.int8),
        "p_fake": p_fake,
        "y_pred": np.array([int(r["pred"]) for r in rows], dtype=np.int8),
        "score": np.array([float(r["score"]) for r in rows], dtype=np.float64)
        if rows and "score" in rows[0]
        else p_fake,
    }
