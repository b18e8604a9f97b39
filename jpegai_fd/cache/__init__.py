"""The Zarr latent cache and the extraction that fills it."""

from __future__ import annotations

from omegaconf import DictConfig

from jpegai_fd.cache.extraction import ExtractionStats, fill_group
from jpegai_fd.cache.store import LatentGroup, LatentStore
from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.encoders.base import LatentEncoder


def cached_latents(cfg: DictConfig, split: DatasetSplit, encoder: LatentEncoder,
                   shard: int = 0, num_shards: int = 1) -> tuple[LatentGroup, ExtractionStats]:
    """Open (or create) the cache group of ``split`` at ``cfg.bpp`` and extract what is missing."""
    size = int(cfg.dataset.image_size)
    codecs = dict(cfg.extract.get("codecs") or {})
    group = LatentStore(cfg.paths.cache).open(split, split.manifest_hash(), encoder, cfg.bpp, (size, size),
                                               cfg.extract.chunk_size, codecs)
    return group, fill_group(group, split, encoder, cfg.bpp, size, shard, num_shards)


__all__ = ["ExtractionStats", "LatentGroup", "LatentStore", "cached_latents", "fill_group"]
