"""What a job logs after its evaluation: trials table, confusion matrix, ROC curve, importances."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.metrics import auc, roc_curve

from jpegai_fd.datasets.manifest import hash_memo, manifest_csv
from jpegai_fd.features import COMPONENT_ARRAYS
from jpegai_fd.scoring.evaluate import confusion
from jpegai_fd.scoring.labels import FAKE
from jpegai_fd.tracking.figures import confusion_figure, curves_figure, importance_figure, roc_figure
from jpegai_fd.tracking.importance import split_importances, tree_importances


def trials_table(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per Optuna trial: number, state, value (mean CV score), duration_s, the fold scores
    (JSON list) and one ``param_<name>`` column per hyperparameter."""
    if trials.empty:
        return pd.DataFrame(columns=["number", "state", "value", "duration_s", "fold_scores"])
    out = pd.DataFrame({"number": trials["number"], "state": trials["state"].astype(str), "value": trials.get("value")})
    duration = trials.get("duration")
    out["duration_s"] = pd.to_timedelta(duration).dt.total_seconds() if duration is not None else np.nan
    folds = trials.get("user_attrs_fold_scores")
    out["fold_scores"] = [
        json.dumps(list(f)) if isinstance(f, (list, tuple, np.ndarray)) else "[]"
        for f in (folds if folds is not None else [None] * len(trials))
    ]
    for col in trials.columns:
        if col.startswith("params_"):
            out["param_" + col[len("params_") :]] = trials[col]
    return out


def log_trials(run, trials: pd.DataFrame) -> None:
    """``optuna_trials.csv``, the ``trial/value`` series (step = trial number) and ``trials/<state>`` counts."""
    table = trials_table(trials)
    run.log_text(table.to_csv(index=False), "optuna_trials.csv")
    done = table.dropna(subset=["value"])
    if len(done):
        run.log_series("trial/value", done["value"], done["number"])
    states = table["state"].value_counts()
    run.log_metrics({f"trials/{s.lower()}": int(n) for s, n in states.items()})


def log_evaluation(run, y_true: np.ndarray, y_pred: np.ndarray, p_real: np.ndarray, title: str) -> None:
    """Confusion matrix (JSON and figure: counts and normalised) and the ROC curve of the fake class."""
    cm = confusion(y_true, y_pred)
    run.log_dict(cm, "confusion_matrix.json")
    run.log_figure(confusion_figure(cm, title), "figures/confusion_matrix.png")
    positive = np.asarray(y_true) == FAKE
    if 0 < positive.sum() < positive.size:
        fpr, tpr, thresholds = roc_curve(positive, 1 - np.asarray(p_real))
        run.log_dict(
            {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": np.nan_to_num(thresholds, posinf=1e308).tolist()},
            "roc_curve.json",
        )
        run.log_figure(roc_figure(fpr, tpr, auc(fpr, tpr), title), "figures/roc_curve.png")  # the area of this curve


def log_importances(run, model, shapes: dict[str, tuple[int, int, int]], whole_latents: bool, title: str) -> None:
    """For tree models: importance per latent channel (and per position for flatten), JSON and heat maps."""
    importances = tree_importances(model)
    if importances is None:
        return
    parts = split_importances(importances, shapes, whole_latents)
    run.log_dict(
        {name: {k: v.tolist() for k, v in part.items()} for name, part in parts.items()}, "feature_importance.json"
    )
    run.log_figure(importance_figure(parts, title), "figures/feature_importance.png")


def latent_shapes(group, component: str, latent: str) -> dict[str, tuple[int, int, int]]:
    """(C, H, W) of each latent array that ``component`` (y | yuv) feeds to the features, in feature order."""
    return {name: tuple(group.array(latent, name).shape[1:]) for name in COMPONENT_ARRAYS[component]}


def log_dataset_manifest(run, splits_and_groups, cache: str) -> None:
    """``dataset/<split>_manifest.csv`` (every image with status and reason); hashes from the memo at ``cache``."""
    memo = hash_memo(cache)
    for split, group in splits_and_groups:
        run.log_text(manifest_csv(split, group, memo), f"dataset/{split.name}_manifest.csv")


def log_training_curves(run, model, prefix: str) -> None:
    """Each curve of ``model.curves_`` as metric ``prefix/name`` (step = epoch or round), and its figure."""
    curves = getattr(model, "curves_", None)
    if not curves:
        return
    for name, values in curves.items():
        run.log_series(f"{prefix}/{name}", values, range(len(values)))
    summary = ", ".join(
        f"best {k[:-1]} {getattr(model, k)}" for k in ("best_epoch_", "best_iteration_") if hasattr(model, k)
    )
    run.log_figure(curves_figure(curves, f"{prefix}: {summary}"), f"figures/{prefix}_curves.png")
