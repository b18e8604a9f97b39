"""The preprocessing methods (``conf/preprocess/``): ``features(arrays, labels, rows, train) -> FeatureSet``;
``whole_latents``: samples keep each image's whole (C, H, W) latents; an optional ``check_grid(grid, where)`` is checked
before any work."""

import numpy as np

from jpegai_fd.errors import UserError, check_int
from jpegai_fd.features.matrix import Arrays, FeatureSet, flatten_matrix, patch_matrix


class Flatten:
    """Every latent value of an image in one vector: one sample of sum(C*H*W) features per image."""

    whole_latents = True

    def __init__(self, name: str = "flatten"):
        self.name = name

    def features(self, arrays: Arrays, labels: np.ndarray, rows: np.ndarray | None, train: bool) -> FeatureSet:
        return flatten_matrix(arrays, labels, rows)


class Patches:
    """All channels at some spatial positions, one sample per position; subclasses pick the positions."""

    whole_latents = False

    def positions(self, grid: tuple[int, int], train: bool) -> list[tuple[int, int]]:  # (row, col) on the (H, W) grid
        raise NotImplementedError

    def features(self, arrays: Arrays, labels: np.ndarray, rows: np.ndarray | None, train: bool) -> FeatureSet:
        return patch_matrix(arrays, labels, self.positions(tuple(arrays[0].shape[2:]), train), rows)


class SinglePatch(Patches):
    """The position (``row``, ``col``); None picks the centre (H//2, W//2)."""

    def __init__(self, name: str = "single", row: int | None = None, col: int | None = None):
        check_int("preprocess.row", row, 0, nullable=True)
        check_int("preprocess.col", col, 0, nullable=True)
        self.name, self.row, self.col = name, row, col

    def check_grid(self, grid: tuple[int, int], where: str = "") -> None:
        where = where or f"the {grid[0]}x{grid[1]} latent grid"
        for key, value, size in (("row", self.row, grid[0]), ("col", self.col, grid[1])):
            if value is not None and not 0 <= value < size:
                raise UserError(
                    f"invalid value for 'preprocess.{key}': {value!r}; it must be an integer between 0 "
                    f"and {size - 1} ({where}; null: centre) or null"
                )

    def positions(self, grid: tuple[int, int], train: bool) -> list[tuple[int, int]]:
        self.check_grid(grid)
        h, w = grid
        return [(h // 2 if self.row is None else self.row, w // 2 if self.col is None else self.col)]


class MultiPatch(Patches):
    """Training: ``num_patches`` positions drawn once from ``seed`` (the same for every image, as in
    the thesis), each an independent sample. Test: every position, the image label by majority vote."""

    def __init__(self, name: str = "multi", num_patches: int = 15, seed: int = 0):
        check_int("preprocess.num_patches", num_patches, 1)
        self.name, self.num_patches, self.seed = name, num_patches, int(seed)

    def check_grid(self, grid: tuple[int, int], where: str = "") -> None:
        h, w = grid
        if self.num_patches > h * w:
            raise UserError(
                f"invalid value for 'preprocess.num_patches': {self.num_patches!r}; it must be an integer "
                f"between 1 and {h * w} (the positions of {where or f'the {h}x{w} latent grid'})"
            )

    def positions(self, grid: tuple[int, int], train: bool) -> list[tuple[int, int]]:
        h, w = grid
        every = [(r, c) for r in range(h) for c in range(w)]
        if not train:
            return every
        self.check_grid(grid)
        chosen = np.random.default_rng(self.seed).choice(len(every), size=self.num_patches, replace=False)
        return [every[i] for i in sorted(chosen)]
