"""Figures logged with each run: confusion matrix, ROC curve, latent importance heat maps, training curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # jobs run headless, often several at once
import matplotlib.pyplot as plt
import numpy as np

CHANNELS_PER_ROW = 16  # channel importances drawn as a grid: 160 luma channels -> 10 x 16


def confusion_figure(confusion: dict, title: str):
    """Two heat maps of a :func:`jpegai_fd.scoring.evaluate.confusion` dict: counts, and shares per true class."""
    cm = np.asarray(confusion["matrix"], dtype=float)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    labels = confusion["labels"]
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4), dpi=100)
    for ax, values, name in ((axes[0], cm, "counts"), (axes[1], share, "normalised (per true class)")):
        scale = values / max(values.max(), 1e-12)
        ax.imshow(scale, cmap="Blues", vmin=0, vmax=1)
        ax.set(xticks=range(len(labels)), xticklabels=labels, yticks=range(len(labels)), yticklabels=labels)
        ax.set(xlabel="predicted", ylabel="true")
        ax.set_title(name, fontsize=9)
        for (i, j), v in np.ndenumerate(values):
            text = f"{int(v)}" if values is cm else f"{v:.1%}"
            ax.text(j, i, text, ha="center", va="center", color="white" if scale[i, j] > 0.5 else "black")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def roc_figure(fpr: np.ndarray, tpr: np.ndarray, auc: float, title: str):
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.plot(fpr, tpr, lw=2, label=f"AUC = {auc:.3f}")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="false positive rate (real called fake)")
    ax.set_ylabel("true positive rate (fake detected)")
    ax.set_title(title, fontsize=8)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def importance_figure(parts: dict, title: str):
    """Heat maps of :func:`jpegai_fd.tracking.importance.split_importances`: per latent array, channel
    importance as a grid (channel = row * 16 + column) and, for flatten, spatial importance (H x W)."""
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
    acc_ax = None
    for name, values in curves.items():
        if "acc" in name:
            acc_ax = acc_ax or ax.twinx()
            acc_ax.plot(values, "--", label=name)
        else:
            ax.plot(values, label=name)
    ax.set(xlabel="epoch / round", ylabel="loss")
    handles = ax.get_legend_handles_labels()
    if acc_ax is not None:
        acc_ax.set_ylabel("accuracy")
        more = acc_ax.get_legend_handles_labels()
        handles = (handles[0] + more[0], handles[1] + more[1])
    ax.legend(*handles, fontsize=7)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig
