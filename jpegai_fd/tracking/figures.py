"""Figures logged with each run."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # jobs run headless, often several at once
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def confusion_figure(confusion: dict, title: str):
    """Heat map of a :func:`jpegai_fd.evaluation.confusion` dict, counts and row-normalised share."""
    cm = np.asarray(confusion["matrix"], dtype=float)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4, 3.6), dpi=100)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    labels = confusion["labels"]
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, f"{int(cm[i, j])}\n{share[i, j]:.1%}", ha="center", va="center",
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig
