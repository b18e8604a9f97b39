"""Build float32 feature matrices straight from cached latents, one chunk at a time.

The output matrix is allocated once and filled in place, so the peak memory is the matrix plus the
chunks being decoded: no full-size intermediate copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Sequence

import numpy as np
import zarr

from jpegai_fd.features.raw_read import read_rows_into


@dataclass
class FeatureSet:
    """Samples of a split: ``X`` (n_samples, d) float32 (or a ``CachedLatentTensors`` standing for the
    flatten matrix), ``y`` int8 labels, ``groups`` each sample's image, ``n_images``, and ``rows`` the
    cache rows of those images (None: all, in order)."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    n_images: int
    rows: np.ndarray | None = None

    def done(self, values: np.ndarray) -> np.ndarray:
        """Per-image ``values`` of the cache group (labels, ids), restricted to the images here (``rows``)."""
        return values if self.rows is None else values[self.rows]


def row_runs(rows: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of consecutive values in sorted ``rows``: (first row, stop row, output offset)."""
    if len(rows) == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(rows)]])
    return [(int(rows[a]), int(rows[b - 1]) + 1, int(a)) for a, b in zip(starts, stops)]


# A selector maps a decoded chunk (n, C, H, W) to (n, k, d): k samples of d features per image.
Selector = Callable[[np.ndarray], np.ndarray]


def fill_matrix(
    arrays: Sequence[zarr.Array],
    labels: np.ndarray,
    samples_per_image: int,
    select: Selector,
    feature_dims: Sequence[int],
    rows: np.ndarray | None = None,
) -> FeatureSet:
    """Concatenate ``select(chunk)`` of each array along features, image-major along samples.

    ``rows`` (sorted cache rows, None: all) keeps only those images; ``labels`` are of all rows."""
    total = arrays[0].shape[0]
    keep = np.ones(total, dtype=bool) if rows is None else np.isin(np.arange(total), rows)
    n = int(keep.sum())
    k = samples_per_image
    X = np.empty((n * k, sum(feature_dims)), dtype=np.float32)
    step = arrays[0].chunks[0]
    out = 0
    for start in range(0, total, step):
        stop = min(start + step, total)
        take = keep[start:stop]
        m = int(take.sum())
        if m == 0:
            continue  # a chunk without usable images is not even read
        offset = 0
        for array, dim in zip(arrays, feature_dims):
            block = select(array[start:stop])[take]
            X[out * k : (out + m) * k, offset : offset + dim] = block.reshape(m * k, dim)
            offset += dim
        out += m
    groups = np.repeat(np.arange(n), k)
    return FeatureSet(X, np.repeat(labels[keep], k), groups, n, None if rows is None else np.flatnonzero(keep))


def flatten_matrix(arrays: Sequence[zarr.Array], labels: np.ndarray, rows: np.ndarray | None = None) -> FeatureSet:
    """Every value of every array: one sample of sum(C*H*W) features per image, each array read
    straight into its columns of the matrix (peak memory: the matrix plus the chunks in flight).
    ``rows`` (sorted cache rows, None: all): each run of consecutive rows is one read."""
    selected = np.arange(arrays[0].shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    n = len(selected)
    dims = [int(np.prod(a.shape[1:])) for a in arrays]
    X = np.empty((n, sum(dims)), dtype=np.float32)
    offset = 0
    for array, dim in zip(arrays, dims):
        for first, stop, at in row_runs(selected):
            read_rows_into(array, X[at : at + stop - first, offset : offset + dim], first)
        offset += dim
    return FeatureSet(X, labels[selected].copy(), np.arange(n), n, None if rows is None else selected)


def patch_matrix(
    arrays: Sequence[zarr.Array],
    labels: np.ndarray,
    positions: Sequence[tuple[int, int]],
    rows: np.ndarray | None = None,
) -> FeatureSet:
    """All channels at each of ``positions`` (row, col): len(positions) samples per image
    (only the images at cache ``rows``, sorted; None: all)."""
    pos_rows = np.array([p[0] for p in positions])
    cols = np.array([p[1] for p in positions])
    dims = [a.shape[1] for a in arrays]
    return fill_matrix(arrays, labels, len(positions), lambda b: b[:, :, pos_rows, cols].transpose(0, 2, 1), dims, rows)
