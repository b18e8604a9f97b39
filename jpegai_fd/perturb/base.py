"""What every perturbation provides: (H, W, 3) uint8 RGB in and out, ``key()`` (the condition's short name) and
``describe()`` (every setting that changes the bytes, hashed into the cache key). Random draws are seeded from (seed,
image id): a rerun, batch size or shard gives the same bytes."""

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import Field, TypeAdapter, ValidationError

from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.errors import UserError

PERTURB_VERSION = 1  # bump when any perturbation's numerics change: it is part of every describe()


class Perturbation:
    """Base of the perturbation dataclasses: subclasses set ``name`` (and ``key_fields``) and implement ``apply``."""

    name = "identity"
    key_fields = {}  # tag -> field, in the key: {"q": "quality"} makes jpeg_q75

    def key(self) -> str:
        """``<name>_<tag><value>...`` with values as 0.5 -> '0.5', 2.0 -> '2', e.g. ``jpeg_q75``."""
        return self.name + "".join(f"_{tag}{float(v):g}" for tag, v in self.key_params())

    def key_params(self) -> list[tuple[str, float]]:
        return [(tag, getattr(self, f)) for tag, f in self.key_fields.items()]

    def describe(self) -> dict:
        fields = dataclasses.fields(self) if dataclasses.is_dataclass(self) else ()
        values = {f.name: getattr(self, f.name) for f in fields if f.compare}  # not the helpers a condition keeps
        return {"perturbation": self.name, **values, "perturb_version": PERTURB_VERSION}

    def digest(self) -> str:
        """The condition's identity when the job is built (two names for one condition are refused)."""
        return sha16(self.describe())

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        return height, width

    def apply(self, image: np.ndarray, image_id: str) -> np.ndarray:
        raise NotImplementedError

    def __post_init__(self):
        """Each field checked and stored as its type (5 and 5.0: one cache key); errors name ``<name>.<key>``."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:  # object.__setattr__: the dataclasses are frozen
                object.__setattr__(self, f.name, TypeAdapter(f.type).validate_python(value))
            except ValidationError as exc:
                problem = exc.errors()[0]["msg"]
                raise UserError(f"invalid value for '{self.name}.{f.name}': {value!r}; {problem}") from None

    def __call__(self, image: np.ndarray, image_id: str = "") -> np.ndarray:
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"perturbations take (H, W, 3) uint8 RGB images, got {image.dtype} {image.shape}")
        return np.ascontiguousarray(self.apply(image, str(image_id)), dtype=np.uint8)

    def apply_batch(self, images: np.ndarray, image_ids) -> np.ndarray:
        """(N, H, W, 3) uint8 and N ids -> (N, H', W', 3) uint8; one image at a time unless overridden."""
        return np.stack([self(image, image_id) for image, image_id in zip(images, image_ids)])


def ranged(low: float, high: float, kind: type = float):
    """A number in [low, high]; strict: an integer field refuses 5.0, and no field takes text or a bool."""
    return Annotated[kind, Field(strict=True, ge=low, le=high)]


def sha16(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class PerturbedReader:
    """``reader`` then ``perturbation``; ``settings()`` add its ``describe()``: one cache group per condition."""

    reader: ImageReader
    perturbation: Perturbation
    ids_by_path: Mapping[str, str] = field(repr=False)

    def __post_init__(self):
        size = self.reader.size
        if (shape := self.perturbation.output_shape(size, size)) != (size, size):
            raise UserError(
                f"perturbation '{self.perturbation.key()}' changes the image size to {shape}; cache groups hold "
                f"{size}x{size} images (dataset.image_size), so use a size-keeping setting (crop: resize_back=true)"
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
        if ok := [i for i, reason in enumerate(reasons) if reason is None]:
            images[ok] = self.perturbation.apply_batch(images[ok], [self.ids_by_path[str(paths[i])] for i in ok])
        return images, reasons
