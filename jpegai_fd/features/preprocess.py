"""The preprocessing methods (``conf/preprocess/``): how cached latents become samples.

Each method is built by ``instantiate`` from its YAML keys and implements
``features(arrays, labels, rows, train) -> FeatureSet``. ``whole_latents`` declares whether the
samples keep each image's whole (C, H, W) latents (flatten) or only some positions; classifiers that
read whole latents (cnn) and the importance maps ask it instead of testing a method's name.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import zarr

from jpegai_fd.errors import UserError
from jpegai_fd.features.matrix import FeatureSet, flatten_matrix, patch_matrix


class Flatten:
    """Every latent value of an image in one vector: one sample of sum(C*H*W) features per image."""

    whole_latents = True

    def __init__(self, name: str = "flatten"):
        self.name = name

    def features(self, arrays: Sequence[zarr.Array], labels: np.ndarray, rows: np.ndarray | None,
                 train: bool) -> FeatureSet:
        return flatten_matrix(arrays, labels, rows)


class Patches:
    """All channels at some spatial positions, one sample per position; subclasses pick the positions."""

    whole_latents = False

    def positions(self, grid: tuple[int, int], train: bool) -> list[tuple[int, int]]:
        """(row, col) positions sampled per image on an (H, W) latent grid."""
        raise NotImplementedError

    def features(self, arrays: Sequence[zarr.Array], labels: np.ndarray, rows: np.ndarray | None,
                 train: bool) -> FeatureSet:
        return patch_matrix(arrays, labels, self.positions(tuple(arrays[0].shape[2:]), train), rows)


class SinglePatch(Patches):
    """The position (``row``, ``col``); None picks the centre (H//2, W//2)."""

    def __init__(self, name: str = "single", row: int | None = None, col: int | None = None):
        self.name, self.row, self.col = name, row, col

    def positions(self, grid: tuple[int, int], train: bool) -> list[tuple[int, int]]:
        h, w = grid
        row = h // 2 if self.row is None else self.row
        col = w // 2 if self.col is None else self.col
        if not (0 <= row < h and 0 <= col < w):
            raise UserError(f"preprocess.row/col ({row}, {col}) lies outside the {h}x{w} latent grid")
        return [(row, col)]


class MultiPatch(Patches):
    """Training: ``num_patches`` positions drawn once from ``seed`` (the same for every image, as in
    the thesis), each an independent sample. Test: every position, the image label by majority vote."""

    def __init__(self, name: str = "multi", num_patches: int = 15, seed: int = 0):
        if isinstance(num_patches, bool) or not isinstance(num_patches, int) or num_patches < 1:
            raise UserError(f"invalid value for 'preprocess.num_patches': {num_patches!r}; it must be an integer >= 1")
        self.name, self.num_patches, self.seed = name, num_patches, int(seed)

    def positions(self, grid: tuple[int, int], train: bool) -> list[tuple[int, int]]:
        h, w = grid
        every = [(r, c) for r in range(h) for c in range(w)]
        if not train:
            return every
        if self.num_patches > len(every):
            raise UserError(f"preprocess.num_patches={self.num_patches} exceeds the {len(every)} positions of the "
                            f"latent grid")
        chosen = np.random.default_rng(self.seed).choice(len(every), size=self.num_patches, replace=False)
        return [every[i] for i in sorted(chosen)]
