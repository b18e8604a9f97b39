"""Preprocessing of cached latents into feature matrices: flatten, single patch, multiple patches."""

from __future__ import annotations

import logging

import numpy as np
from omegaconf import DictConfig

from jpegai_fd.cache.store import LatentGroup
from jpegai_fd.errors import UserError
from jpegai_fd.features.latent_source import CachedLatentTensors
from jpegai_fd.features.matrix import FeatureSet, flatten_matrix, patch_matrix
from jpegai_fd.features.vote import majority_vote

log = logging.getLogger(__name__)
COMPONENT_ARRAYS = {"y": ("model_y",), "yuv": ("model_y", "model_uv")}


def patch_positions(cfg: DictConfig, grid: tuple[int, int], train: bool) -> list[tuple[int, int]]:
    """Spatial positions sampled per image for ``cfg.preprocess`` on an (H, W) latent grid."""
    h, w = grid
    pre = cfg.preprocess
    if pre.name == "single":
        row = h // 2 if pre.row is None else pre.row
        col = w // 2 if pre.col is None else pre.col
        if not (0 <= row < h and 0 <= col < w):
            raise UserError(f"preprocess.row/col ({row}, {col}) lies outside the {h}x{w} latent grid")
        return [(row, col)]
    every = [(r, c) for r in range(h) for c in range(w)]
    if not train:
        return every
    if pre.num_patches > len(every):
        raise UserError(f"preprocess.num_patches={pre.num_patches} exceeds the {len(every)} positions of the latent grid")
    # Drawn once from the seed: the same positions for every image, as in the thesis.
    chosen = np.random.default_rng(cfg.seed).choice(len(every), size=pre.num_patches, replace=False)
    return [every[i] for i in sorted(chosen)]


def done_rows(group: LatentGroup) -> np.ndarray | None:
    """Sorted rows of the images whose latents are complete; None when that is every row."""
    done = group.done_mask()
    if done.all():
        return None
    if not done.any():
        raise UserError("no image of this split has latents in the cache (all unreadable or not extracted); "
                        "check the run's dataset manifest")
    log.warning("features: using %d of %d images (the others are unreadable or not yet extracted)", done.sum(), done.size)
    return np.flatnonzero(done)


def build_features(group: LatentGroup, cfg: DictConfig, train: bool, rows: np.ndarray | None = None) -> FeatureSet:
    """Feature matrix of a cached split for ``cfg.preprocess``, ``cfg.component`` and ``cfg.latent``.

    ``train`` picks the multi-patch training positions; at test every position is a sample. With
    ``classifier.stream_from_cache``, ``X`` is a :class:`CachedLatentTensors` (read on demand) instead
    of the flatten matrix. ``rows`` (sorted cache rows) picks the images; by default every image
    marked done (unreadable or not yet extracted ones are left out), and the result's ``rows`` then
    names the cache rows used (None when every image is done).
    """
    arrays = [group.array(cfg.latent, name) for name in COMPONENT_ARRAYS[cfg.component]]
    labels = group.labels
    rows = done_rows(group) if rows is None else rows
    if cfg.classifier.get("stream_from_cache"):  # only cnn has the key; it refuses all but flatten
        keep = np.arange(len(labels)) if rows is None else rows
        return FeatureSet(CachedLatentTensors(arrays, keep), labels[keep].copy(), np.arange(len(keep)), len(keep), rows)
    if cfg.preprocess.name == "flatten":
        return flatten_matrix(arrays, labels, rows)
    if cfg.preprocess.name in ("single", "multi"):
        return patch_matrix(arrays, labels, patch_positions(cfg, arrays[0].shape[2:], train), rows)
    raise UserError(f"invalid value for 'preprocess.name': {cfg.preprocess.name!r}; allowed values: flatten, single, multi")


__all__ = ["CachedLatentTensors", "FeatureSet", "build_features", "done_rows", "majority_vote", "patch_positions"]
