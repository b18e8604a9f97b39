"""Training-time augmentation (``conf/augment/``): a seeded share of a training split's images, each perturbed by one
condition, cached in that condition's own group and appended to the training samples with its original image's
group (grouped CV never puts an image and its copy on both sides). Valid and test images are never augmented."""

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.errors import UserError, check_int
from jpegai_fd.features.matrix import FeatureSet
from jpegai_fd.perturb import PerturbedReader, Perturbation


@dataclass(frozen=True)
class Augment:
    conditions: dict[str, Perturbation]
    fraction: float
    seed: int

    def __post_init__(self):
        if isinstance(self.fraction, bool) or not isinstance(self.fraction, (int, float)) or not 0 < self.fraction <= 1:
            raise UserError(f"invalid value for 'augment.fraction': {self.fraction!r}; it must be a number in (0, 1]")
        check_int("augment.seed", self.seed, 0)
        if not self.conditions:
            raise UserError("'augment.conditions' is empty; name at least one perturbation (see conf/augment/)")

    def plan(self, split: DatasetSplit) -> list[tuple[str, Perturbation, np.ndarray]]:
        """(name, condition, sorted positions in ``split``) per condition: ``fraction`` of the images, shared out
        evenly between the conditions; the same seed and split give the same choice."""
        rng = np.random.default_rng([self.seed, zlib.crc32(f"{split.dataset}/{split.name}".encode())])
        chosen = rng.choice(len(split), size=round(self.fraction * len(split)), replace=False)
        which = rng.permutation(np.arange(len(chosen)) % len(self.conditions))
        named = enumerate(self.conditions.items())
        return [(name, c, np.sort(chosen[which == i])) for i, (name, c) in named if (which == i).any()]


def augmented_groups(augment: Augment, split: DatasetSplit, reader, latents: Callable) -> list[tuple]:
    """(positions in ``split``, copies, group, extraction stats) per condition of ``augment.plan``;
    ``latents(split, reader=)`` -> (group, stats) fills a group of the cache."""
    out = []
    for name, condition, index in augment.plan(split):
        copies = replace(split.subset(index), name=f"{split.name}_aug_{name}", skipped=())
        out.append((index, copies, *latents(copies, reader=PerturbedReader.for_split(reader, condition, copies))))
    return out


def with_copies(base: FeatureSet, groups: list[tuple], features: Callable) -> FeatureSet:
    """``base`` (a training split's samples) with the samples of its :func:`augmented_groups` appended, each in
    its original image's group; ``features(group)`` -> FeatureSet makes a group's training samples."""
    rows = np.arange(base.n_images) if base.rows is None else base.rows  # cache row of each sample group
    parts = [base]
    for index, _, group, _ in groups:
        fs = features(group)
        origin = index[fs.done(np.arange(len(index)))][fs.groups]  # each sample's original image (= its cache row)
        at = np.minimum(np.searchsorted(rows, origin), len(rows) - 1)
        keep = rows[at] == origin  # an original without latents keeps out its copy: it has no group to join
        parts.append(FeatureSet(fs.X[keep], fs.y[keep], at[keep], base.n_images))
    X, y, groups = (np.concatenate([getattr(p, k) for p in parts]) for k in ("X", "y", "groups"))
    return FeatureSet(X, y, groups, base.n_images, base.rows)
