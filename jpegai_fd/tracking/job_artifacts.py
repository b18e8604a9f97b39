"""What a job logs after its evaluation: trials table, confusion matrix, ROC curve, importances (which latent
channels and positions a tree model relies on, in the feature order of :mod:`jpegai_fd.features`)."""

import json

import matplotlib

matplotlib.use("Agg")  # jobs run headless, often several at once
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay, auc, roc_curve

from jpegai_fd.datasets.manifest import hash_memo, manifest_csv
from jpegai_fd.features import COMPONENT_ARRAYS
from jpegai_fd.scoring.evaluate import confusion
from jpegai_fd.scoring.labels import FAKE

CHANNELS_PER_ROW = 16  # channel importances drawn as a grid: 160 luma channels -> 10 x 16


def confusion_figure(confusion: dict, title: str):
    """Two heat maps of a :func:`jpegai_fd.scoring.evaluate.confusion` dict: counts, and shares per true class."""
    cm = np.asarray(confusion["matrix"], dtype=float)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4), dpi=100)
    for ax, values, fmt, name in zip(axes, (cm, share), (".0f", ".1%"), ("counts", "normalised (per true class)")):
        display = ConfusionMatrixDisplay(values, display_labels=confusion["labels"])
        display.plot(ax=ax, cmap="Blues", values_format=fmt, colorbar=False)
        ax.set_title(name, fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def importance_figure(parts: dict, title: str):
    """Heat maps of :func:`split_importances`: channels as a grid (row * 16 + column), positions (H x W) for flatten."""
    with_positions = any("positions" in p for p in parts.values())
    ncols = 2 if with_positions else 1
    fig, axes = plt.subplots(len(parts), ncols, figsize=(4.2 * ncols, 3.2 * len(parts)), dpi=100, squeeze=False)
    for row, (name, part) in enumerate(parts.items()):
        ax = axes[row, 0]
        channels = part["channels"]
        grid = np.pad(channels, (0, -channels.size % CHANNELS_PER_ROW), constant_values=np.nan)
        fig.colorbar(ax.imshow(grid.reshape(-1, CHANNELS_PER_ROW), cmap="viridis"), ax=ax, fraction=0.046)
        ax.set(xlabel="channel mod 16", ylabel="channel // 16")
        ax.set_title(f"{name}: channel importance (row*{CHANNELS_PER_ROW}+col)", fontsize=8)
        if with_positions:
            ax = axes[row, 1]
            fig.colorbar(ax.imshow(part["positions"], cmap="magma"), ax=ax, fraction=0.046)
            ax.set(xlabel="latent column", ylabel="latent row")
            ax.set_title(f"{name}: spatial importance", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def curves_figure(curves: dict[str, list[float]], title: str):
    """Loss curves on the left axis, accuracy curves (names containing 'acc') on the right one."""
    fig, ax = plt.subplots(figsize=(5, 3.4), dpi=100)
    table = pd.DataFrame({name: pd.Series(values) for name, values in curves.items()})
    accuracy = [name for name in curves if "acc" in name]
    table.plot(ax=ax, secondary_y=accuracy, xlabel="epoch / round", title=title, fontsize=7)
    ax.set_ylabel("loss")
    if accuracy:
        ax.right_ax.set_ylabel("accuracy")
    fig.tight_layout()
    return fig


def trials_table(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per Optuna trial: number, state, value, duration_s, fold_scores (JSON) and ``param_<name>`` columns."""
    if trials.empty:
        return pd.DataFrame(columns=["number", "state", "value", "duration_s", "fold_scores"])
    out = pd.DataFrame({"number": trials["number"], "state": trials["state"].astype(str), "value": trials["value"]})
    out["duration_s"] = pd.to_timedelta(trials["duration"]).dt.total_seconds()
    folds = trials.get("user_attrs_fold_scores", [None] * len(trials))
    out["fold_scores"] = [json.dumps(list(f)) if isinstance(f, (list, tuple, np.ndarray)) else "[]" for f in folds]
    return out.join(trials.filter(regex="^params_").rename(columns=lambda c: "param_" + c[len("params_") :]))


def log_trials(run, trials: pd.DataFrame) -> None:
    """``optuna_trials.csv``, the ``trial/value`` series (step = trial number) and ``trials/<state>`` counts."""
    table = trials_table(trials)
    run.log_text(table.to_csv(index=False), "optuna_trials.csv")
    if len(done := table.dropna(subset=["value"])):
        run.log_series("trial/value", done["value"], done["number"])
    run.log_metrics({f"trials/{s.lower()}": int(n) for s, n in table["state"].value_counts().items()})


def log_evaluation(run, y_true: np.ndarray, y_pred: np.ndarray, p_real: np.ndarray, title: str) -> None:
    """Confusion matrix (JSON and figure: counts and normalised) and the ROC curve of the fake class."""
    cm = confusion(y_true, y_pred)
    run.log_dict(cm, "confusion_matrix.json")
    run.log_figure(confusion_figure(cm, title), "figures/confusion_matrix.png")
    positive = np.asarray(y_true) == FAKE
    if 0 < positive.sum() < positive.size:
        fpr, tpr, thresholds = roc_curve(positive, 1 - np.asarray(p_real))
        thresholds = np.nan_to_num(thresholds, posinf=1e308)
        run.log_dict({"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thresholds.tolist()}, "roc_curve.json")
        fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
        RocCurveDisplay(fpr=fpr, tpr=tpr, roc_auc=auc(fpr, tpr)).plot(ax=ax, plot_chance_level=True)
        ax.set(xlabel="false positive rate (real called fake)", ylabel="true positive rate (fake detected)")
        ax.set_title(title, fontsize=8)
        fig.tight_layout()
        run.log_figure(fig, "figures/roc_curve.png")


def tree_importances(model) -> np.ndarray | None:
    """Normalised importance per feature of a tree ensemble (HistGradientBoosting: split gains summed), else None."""
    if hasattr(model, "feature_importances_"):
        imp = np.asarray(model.feature_importances_, dtype=float)
    elif hasattr(model, "_predictors") and hasattr(model, "n_features_in_"):
        imp = np.zeros(model.n_features_in_)
        for per_class in model._predictors:  # noqa: SLF001  (fitted trees; no public accessor exists)
            for predictor in per_class:
                nodes = predictor.nodes[predictor.nodes["is_leaf"] == 0]  # is_leaf is uint8: no ~
                np.add.at(imp, nodes["feature_idx"], nodes["gain"])
    else:
        return None
    total = imp.sum()
    return imp / total if total > 0 else imp


def split_importances(importances: np.ndarray, shapes: dict[str, tuple[int, int, int]], whole_latents: bool) -> dict:
    """Per latent array (name -> (C, H, W), feature order): ``channels`` sums, ``positions`` (H, W) for flatten."""
    out, offset = {}, 0
    for name, (c, h, w) in shapes.items():
        block = importances[offset : offset + (c * h * w if whole_latents else c)].reshape(c, -1)
        positions = {"positions": block.sum(axis=0).reshape(h, w)} if whole_latents else {}
        out[name], offset = {"channels": block.sum(axis=1), **positions}, offset + block.size
    if offset != importances.size:
        raise ValueError(
            f"{importances.size} importances do not match the latent shapes {shapes} (whole latents: {whole_latents})"
        )
    return out


def log_importances(run, model, shapes: dict[str, tuple[int, int, int]], whole_latents: bool, title: str) -> None:
    """For tree models: importance per latent channel (and per position for flatten), JSON and heat maps."""
    if (importances := tree_importances(model)) is None:
        return
    parts = split_importances(importances, shapes, whole_latents)
    as_lists = {name: {k: v.tolist() for k, v in part.items()} for name, part in parts.items()}
    run.log_dict(as_lists, "feature_importance.json")
    run.log_figure(importance_figure(parts, title), "figures/feature_importance.png")


def latent_shapes(group, component: str, latent: str) -> dict[str, tuple[int, int, int]]:
    """(C, H, W) of each latent array that ``component`` (y | yuv) feeds to the features, in feature order."""
    return {name: tuple(group.array(latent, name).shape[1:]) for name in COMPONENT_ARRAYS[component]}


def log_dataset_manifest(run, splits_and_groups, cache: str, main: str | None = None) -> None:
    """``dataset/<split>_manifest.csv`` (every image with status and reason; ``<source>_<split>`` for a source
    other than the ``main`` dataset); hashes from the memo at ``cache``."""
    memo = hash_memo(cache)
    for split, group in splits_and_groups:
        name = split.name if split.dataset == main or main is None else f"{split.dataset}_{split.name}"
        run.log_text(manifest_csv(split, group, memo), f"dataset/{name}_manifest.csv")


def log_training_curves(run, model, prefix: str) -> None:
    """Each curve of ``model.curves_`` as metric ``prefix/name`` (step = epoch or round), and its figure."""
    if not (curves := getattr(model, "curves_", None)):
        return
    for name, values in curves.items():
        run.log_series(f"{prefix}/{name}", values, range(len(values)))
    best = [k for k in ("best_epoch_", "best_iteration_") if hasattr(model, k)]
    summary = ", ".join(f"best {k[:-1]} {getattr(model, k)}" for k in best)
    run.log_figure(curves_figure(curves, f"{prefix}: {summary}"), f"figures/{prefix}_curves.png")
