"""The Zarr latent cache and the extraction that fills it."""

from __future__ import annotations

from omegaconf import DictConfig

from jpegai_fd.cache.extraction import ExtractionStats, fill_group
from jpegai_fd.cache.store import LatentGroup, LatentStore
from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.encoders.base import LatentEncoder


def cached_latents(cfg: DictConfig, split: DatasetSplit, encoder: LatentEncoder,
                   shard: int = 0, num_shards: int = 1) -> tuple[LatentGroup, ExtractionStats]:
    """Open (or create) the cache group of ``split`` at ``cfg.bpp`` and extract what is missing.

    The group is keyed by the dataset manifest (content hashes, memoised beside the cache) and the
    image reader's settings, so an edited image or another size policy never reuses latents.
    """
    from jpegai_fd.datasets import hash_memo, image_reader, max_bad_fraction

    size = int(cfg.dataset.image_size)
    codecs = dict(cfg.extract.get("codecs") or {})
    reader = image_reader(cfg)
    manifest = split.manifest_hash(hash_memo(cfg), reader.settings())
    group = LatentStore(cfg.paths.cache).open(split, manifest, encoder, cfg.bpp, (size, size),
                                               cfg.extract.chunk_size, codecs, reader.settings())
    return group, fill_group(group, split, encoder, cfg.bpp, size, shard, num_shards, reader, max_bad_fraction(cfg))


__all__ = ["ExtractionStats", "LatentGroup", "LatentStore", "cached_latents", "fill_group"]
