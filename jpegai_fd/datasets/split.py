"""The in-memory description of one dataset split: which images, where, with which label."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jpegai_fd.errors import UserError

LABEL_NAMES = {0: "fake", 1: "real"}  # the Kaggle convention: 1 = real, 0 = fake


@dataclass(frozen=True)
class Skipped:
    """An image of the split's listing that never reaches the encoder, and why."""

    id: str
    path: str
    label: int
    reason: str


@dataclass(frozen=True)
class DatasetSplit:
    """Images of one split, in a fixed order: unique ``ids``, absolute ``paths``, ``labels`` int8
    (1 = real, 0 = fake), the dataset ``root`` and the ``skipped`` images of the listing
    (:mod:`.screen`)."""

    dataset: str
    name: str
    ids: np.ndarray
    paths: tuple[Path, ...]
    labels: np.ndarray
    root: Path | None = None
    skipped: tuple[Skipped, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index: np.ndarray) -> "DatasetSplit":
        """The images at positions ``index`` (kept in the given order); ``skipped`` is kept."""
        index = np.asarray(index, dtype=np.int64)
        return DatasetSplit(
            self.dataset,
            self.name,
            self.ids[index],
            tuple(self.paths[i] for i in index),
            self.labels[index],
            self.root,
            self.skipped,
        )


def sample_balanced(split: DatasetSplit, num: int | None, seed: int, key: str) -> DatasetSplit:
    """A class-balanced random subset of ``num`` images (None: all): ``num // 2`` fakes, the rest real,
    in the split's order, so the same (num, seed) always gives the same images in the same order."""
    if num is None:
        return split
    rng = np.random.default_rng(seed)
    chosen = []
    for label, want in ((0, num // 2), (1, num - num // 2)):
        pool = np.flatnonzero(split.labels == label)
        if len(pool) < want:
            raise UserError(
                f"'{key}={num}' asks for {want} {LABEL_NAMES[label]} images but split "
                f"'{split.name}' has only {len(pool)}; lower {key} or set it to null"
            )
        chosen.append(rng.choice(pool, size=want, replace=False))
    return split.subset(np.sort(np.concatenate(chosen)))
