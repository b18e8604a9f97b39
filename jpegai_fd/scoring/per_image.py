"""``scores/test_scores.csv``, what two runs need to be compared later: per test image ``id``, ``label``,
``p_fake`` (calibrated; 6 decimals), ``pred`` (at the valid cut), ``score`` (raw), ``source`` (the last two absent
in earlier runs' files)."""

import io

import numpy as np
import pandas as pd

COLUMNS = ("id", "label", "p_fake", "pred", "score", "source")


def scores_csv(
    ids: np.ndarray, y_true: np.ndarray, p_fake: np.ndarray, y_pred: np.ndarray, score=None, source=None
) -> str:
    """CSV text of the artifact (``score`` default ``p_fake``: no calibration; no ``source``: no column)."""
    score = p_fake if score is None else score
    if not len(ids) == len(y_true) == len(p_fake) == len(y_pred) == len(score):
        raise ValueError("ids, labels, scores and decisions must have one entry per image")
    columns = (np.asarray(ids), np.asarray(y_true, int), np.asarray(p_fake, float), np.asarray(y_pred, int), score)
    table = pd.DataFrame(dict(zip(COLUMNS, columns))).astype({"score": float})
    if source is not None:
        table["source"] = np.asarray(source, str)
    return table.to_csv(index=False, float_format="%.6f", lineterminator="\n")


def read_scores_csv(text: str) -> dict[str, np.ndarray]:
    """The artifact as arrays: ``id``, ``y_true``, ``p_fake``, ``y_pred``, ``score``."""
    table = pd.read_csv(io.StringIO(text), dtype={"id": str, "source": str}, keep_default_na=False)
    if tuple(table.columns) not in (COLUMNS, COLUMNS[:5], COLUMNS[:4]):
        raise ValueError(f"not a per-image score file: columns {tuple(table.columns)}, expected {COLUMNS}")
    arrays = {"id": table["id"].to_numpy(str), "y_true": table["label"].to_numpy(np.int8)}
    arrays |= {"p_fake": table["p_fake"].to_numpy(np.float64), "y_pred": table["pred"].to_numpy(np.int8)}
    return arrays | {"score": table.get("score", table["p_fake"]).to_numpy(np.float64)}
