"""An image reader that perturbs what it decodes: how a perturbation condition reaches the cache.

Its ``settings()`` are the reader's plus the perturbation's ``describe()``; the cache hashes reader
settings into a group's key, so each condition's latents get their own group and a rerun finds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.errors import UserError
from jpegai_fd.perturb.base import Perturbation


@dataclass(frozen=True)
class PerturbedReader:
    """``reader`` followed by ``perturbation``; ``ids_by_path`` maps str(path) -> image id."""

    reader: ImageReader
    perturbation: Perturbation
    ids_by_path: Mapping[str, str] = field(repr=False)

    def __post_init__(self):
        size = self.reader.size
        if (shape := self.perturbation.output_shape(size, size)) != (size, size):
            raise UserError(
                f"perturbation '{self.perturbation.key()}' changes the image size to "
                f"{shape}; cache groups hold {size}x{size} "
                f"images (dataset.image_size), so use a size-keeping setting (crop: resize_back=true)"
            )

    @classmethod
    def for_split(cls, reader: ImageReader, perturbation: Perturbation, split) -> "PerturbedReader":
        return cls(reader, perturbation, {str(p): str(i) for p, i in zip(split.paths, split.ids)})

    @property
    def size(self) -> int:
        return self.reader.size

    def settings(self) -> dict:
        return {**self.reader.settings(), "perturbation": self.perturbation.describe()}

    def read(self, path: Path) -> np.ndarray:
        return self.perturbation(self.reader.read(path), self.ids_by_path[str(path)])

    def read_batch(self, paths) -> tuple[np.ndarray, list[str | None]]:
        """As :meth:`ImageReader.read_batch`; readable rows are perturbed (unreadable ones stay zero)."""
        images, reasons = self.reader.read_batch(paths)
        ok = [i for i, reason in enumerate(reasons) if reason is None]
        if ok:
            images[ok] = self.perturbation.apply_batch(images[ok], [self.ids_by_path[str(paths[i])] for i in ok])
        return images, reasons
