"""Preprocessing of cached latents into feature matrices: flatten, single patch, multiple patches."""

import logging

import numpy as np

from jpegai_fd.cache.store import LatentGroup
from jpegai_fd.datasets.file_info import property_matrix
from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.errors import UserError
from jpegai_fd.features.latent_source import CachedLatentTensors
from jpegai_fd.features.matrix import FeatureSet
from jpegai_fd.features.preprocess import Flatten, MultiPatch, Patches, SinglePatch

log = logging.getLogger(__name__)
COMPONENT_ARRAYS = {"y": ("model_y",), "yuv": ("model_y", "model_uv")}


def feature_set(
    group: LatentGroup,
    preprocess,
    component: str,
    latent: str,
    train: bool,
    rows: np.ndarray | None = None,
    stream: bool = False,
) -> FeatureSet:
    """Samples of a cached split: ``preprocess`` applied to the ``component`` arrays of the ``latent``
    version; ``train``: the multi-patch training positions; ``stream`` (whole-latent methods): ``X`` is a
    :class:`CachedLatentTensors`; ``rows`` (sorted cache rows) picks the images, default every done one."""
    arrays = [group.array(latent, name) for name in COMPONENT_ARRAYS[component]]
    labels = group.labels
    if rows is None and not (done := group.done_mask()).all():  # default: the images whose latents are complete
        if not done.any():
            raise UserError(
                "no image of this split has latents in the cache (all unreadable or not extracted); "
                "check the run's dataset manifest"
            )
        log.warning(
            "features: using %d of %d images (the others are unreadable or not yet extracted)", done.sum(), done.size
        )
        rows = np.flatnonzero(done)
    if stream and preprocess.whole_latents:
        keep = np.arange(len(labels)) if rows is None else rows
        return FeatureSet(CachedLatentTensors(arrays, keep), labels[keep].copy(), np.arange(len(keep)), len(keep), rows)
    return preprocess.features(arrays, labels, rows, train)


def file_feature_set(group: LatentGroup, images: DatasetSplit) -> FeatureSet:
    """The file properties of the images a latent classifier would score (done in the cache), in cache order."""
    rows, path = np.flatnonzero(group.done_mask()), dict(zip(images.ids, images.paths))
    X = property_matrix([path[i] for i in group.ids[rows]])
    return FeatureSet(X, group.labels[rows].copy(), np.arange(len(rows)), len(rows), rows)


__all__ = ["COMPONENT_ARRAYS", "FeatureSet", "Flatten", "MultiPatch", "Patches", "SinglePatch", "feature_set"]
__all__ += ["file_feature_set"]
