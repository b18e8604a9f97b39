"""Build float32 feature matrices straight from cached latents, one chunk at a time.

The output matrix is allocated once and filled in place, so the peak memory is the matrix plus the
chunks being decoded: no full-size intermediate copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype


@dataclass
class FeatureSet:
    """Samples of a split. ``X`` (n_samples, d) float32, ``y`` (n_samples,) int8 labels,
    ``groups`` (n_samples,) index of the image each sample comes from, ``n_images``."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    n_images: int


# A selector maps a decoded chunk (n, C, H, W) to (n, k, d): k samples of d features per image.
Selector = Callable[[np.ndarray], np.ndarray]


def fill_matrix(arrays: Sequence[zarr.Array], labels: np.ndarray, samples_per_image: int,
                select: Selector, feature_dims: Sequence[int]) -> FeatureSet:
    """Concatenate ``select(chunk)`` of each array along features, image-major along samples."""
    n = arrays[0].shape[0]
    k = samples_per_image
    X = np.empty((n * k, sum(feature_dims)), dtype=np.float32)
    step = arrays[0].chunks[0]
    for start in range(0, n, step):
        stop = min(start + step, n)
        offset = 0
        for array, dim in zip(arrays, feature_dims):
            block = select(array[start:stop])
            X[start * k:stop * k, offset:offset + dim] = block.reshape((stop - start) * k, dim)
            offset += dim
    groups = np.repeat(np.arange(n), k)
    return FeatureSet(X, np.repeat(labels, k), groups, n)


def flatten_matrix(arrays: Sequence[zarr.Array], labels: np.ndarray) -> FeatureSet:
    """Every value of every array: one sample of sum(C*H*W) features per image.

    Each array is decoded by Zarr straight into its block of columns of the matrix (no intermediate
    copy, chunks read concurrently): the peak memory is the matrix plus the chunks in flight.
    """
    n = arrays[0].shape[0]
    dims = [int(np.prod(a.shape[1:])) for a in arrays]
    X = np.empty((n, sum(dims)), dtype=np.float32)
    offset = 0
    for array, dim in zip(arrays, dims):
        columns = X[:, offset:offset + dim].reshape(n, *array.shape[1:])
        assert np.shares_memory(columns, X)  # a reshape that copied would silently drop the data
        array.get_basic_selection(slice(0, n), out=default_buffer_prototype().nd_buffer.from_numpy_array(columns))
        offset += dim
    return FeatureSet(X, labels.copy(), np.arange(n), n)


def patch_matrix(arrays: Sequence[zarr.Array], labels: np.ndarray,
                 positions: Sequence[tuple[int, int]]) -> FeatureSet:
    """All channels at each of ``positions`` (row, col): len(positions) samples per image."""
    rows = np.array([p[0] for p in positions])
    cols = np.array([p[1] for p in positions])
    dims = [a.shape[1] for a in arrays]
    return fill_matrix(arrays, labels, len(positions),
                       lambda b: b[:, :, rows, cols].transpose(0, 2, 1), dims)
