"""Which latent channels and spatial positions a tree model relies on. Feature order follows
:mod:`jpegai_fd.features`: the component's arrays side by side, flatten in (C, H, W) C order, patches per channel."""

from __future__ import annotations

import numpy as np


def tree_importances(model) -> np.ndarray | None:
    """Normalised importance per feature of a fitted tree ensemble, or None for other models.
    HistGradientBoosting has no ``feature_importances_``: its split gains are summed per feature."""
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
    """Per latent array (``shapes``: name -> (C, H, W), in feature order): ``channels`` (C,) and, with
    ``whole_latents`` (flatten), ``positions`` (H, W) importance sums."""
    out, offset = {}, 0
    for name, (c, h, w) in shapes.items():
        if whole_latents:
            block = importances[offset : offset + c * h * w].reshape(c, h, w)
            out[name] = {"channels": block.sum(axis=(1, 2)), "positions": block.sum(axis=0)}
            offset += c * h * w
        else:
            out[name] = {"channels": importances[offset : offset + c]}
            offset += c
    if offset != importances.size:
        raise ValueError(
            f"{importances.size} importances do not match the latent shapes {shapes} (whole latents: {whole_latents})"
        )
    return out
