"""Several feature sets of one split (a training source each) as one: samples concatenated in order, the CV
groups of identical images shared, and the majority class subsampled when asked."""

import logging

import numpy as np

from jpegai_fd.errors import UserError
from jpegai_fd.features.matrix import FeatureSet

log = logging.getLogger(__name__)


def pool_features(
    sets: list[FeatureSet], labels: np.ndarray, keys: np.ndarray | None = None, balance: bool = False, seed: int = 0
) -> tuple[FeatureSet, np.ndarray]:
    """(the pooled set, the positions of its images among all ``labels``): ``labels`` per image of ``sets`` in
    order; ``keys`` (per image, e.g. a content hash): images with the same key and label share one group, so that
    CV never puts a copy on both sides; ``balance``: as many images of each class, drawn with ``seed``."""
    offsets = np.cumsum([0, *(fs.n_images for fs in sets)])
    image = np.concatenate([fs.groups + at for fs, at in zip(sets, offsets)])  # each sample's image among all
    kept = np.arange(offsets[-1])
    counts = np.bincount(labels, minlength=2)
    if balance and counts.min() < counts.max():
        rng = np.random.default_rng(seed)
        pools = [np.flatnonzero(labels == c) for c in (0, 1)]
        kept = np.sort(np.concatenate([rng.choice(p, counts.min(), replace=False) for p in pools]))
        log.info("train_balance=class: %d fake and %d real training images, %d of each kept", *counts, counts.min())
    if len(sets) == 1 and len(kept) == len(labels):
        return sets[0], kept
    if len(sets) > 1 and not all(isinstance(fs.X, np.ndarray) for fs in sets):
        raise UserError(
            "classifier.stream_from_cache=true reads one cache group; set classifier.stream_from_cache=false "
            "to train on several sources (train_extra)"
        )
    rows = np.flatnonzero(np.isin(image, kept))
    X = sets[0].X if len(sets) == 1 else np.concatenate([fs.X for fs in sets])
    y = np.concatenate([fs.y for fs in sets])
    key = image if keys is None else np.char.add(keys[image].astype(str), labels[image].astype(str))
    groups = np.unique(key[rows], return_inverse=True)[1]
    return FeatureSet(X[rows] if len(rows) < len(y) else X, y[rows], groups, int(groups.max()) + 1), kept
