"""Float32 feature matrices allocated once and filled in place from cached latents: the peak memory is
the matrix plus the chunks being decoded."""

from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np
import zarr

from jpegai_fd.features.raw_read import read_rows_into

Arrays = Sequence[zarr.Array]


@dataclass
class FeatureSet:
    """Samples of a split: ``X`` (n_samples, d) float32 (or a ``CachedLatentTensors``), ``y``, ``groups``
    (each sample's image), ``n_images``, and ``rows`` the cache rows of those images (None: all)."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    n_images: int
    rows: np.ndarray | None = None

    def done(self, values: np.ndarray) -> np.ndarray:
        """Per-image ``values`` of the cache group (labels, ids) restricted to the images here."""
        return values if self.rows is None else values[self.rows]


def flatten_matrix(arrays: Arrays, labels: np.ndarray, rows: np.ndarray | None = None) -> FeatureSet:
    """Every value of every array: one sample per image, each run of consecutive ``rows`` one read."""
    selected = np.arange(arrays[0].shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    n = len(selected)
    dims = [int(np.prod(a.shape[1:])) for a in arrays]
    X = np.empty((n, sum(dims)), dtype=np.float32)
    breaks = np.flatnonzero(np.diff(selected) != 1) + 1  # runs of consecutive rows: (first, stop, output offset)
    runs = [(int(r[0]), int(r[-1]) + 1, int(at)) for r, at in zip(np.split(selected, breaks), [0, *breaks]) if len(r)]
    offset = 0
    for array, dim in zip(arrays, dims):
        for first, stop, at in runs:
            read_rows_into(array, X[at : at + stop - first, offset : offset + dim], first)
        offset += dim
    return FeatureSet(X, labels[selected].copy(), np.arange(n), n, None if rows is None else selected)


def patch_matrix(
    arrays: Arrays, labels: np.ndarray, positions: Sequence[tuple[int, int]], rows: np.ndarray | None = None
) -> FeatureSet:
    """All channels at each of ``positions`` (row, col): a sample per position, image-major, chunk by chunk."""
    pos_rows, cols = (np.array([p[i] for p in positions]) for i in (0, 1))
    total, k = arrays[0].shape[0], len(positions)
    keep = np.ones(total, dtype=bool) if rows is None else np.isin(np.arange(total), rows)
    n = int(keep.sum())
    X = np.empty((n * k, sum(a.shape[1] for a in arrays)), dtype=np.float32)
    step, out = arrays[0].chunks[0], 0
    for start in range(0, total, step):
        take = keep[start : start + step]
        m = int(take.sum())
        if m == 0:
            continue  # a chunk without usable images is not even read
        offset = 0
        for array in arrays:
            block = array[start : min(start + step, total)][:, :, pos_rows, cols].transpose(0, 2, 1)[take]
            X[out * k : (out + m) * k, offset : offset + array.shape[1]] = block.reshape(m * k, array.shape[1])
            offset += array.shape[1]
        out += m
    groups = np.repeat(np.arange(n), k)
    return FeatureSet(X, np.repeat(labels[keep], k), groups, n, None if rows is None else np.flatnonzero(keep))
