"""The Zarr latent cache and the extraction that fills it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jpegai_fd.cache.extraction import ExtractionStats, fill_group
from jpegai_fd.cache.store import LatentGroup, LatentStore
from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.datasets.manifest import hash_memo, manifest_hash
from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.encoders.base import LatentEncoder
from jpegai_fd.errors import UserError


@dataclass(frozen=True)
class ExtractSettings:
    """How a process fills the cache (the ``extract.*`` keys): ``chunk_size`` images per Zarr chunk
    and encoder batch, ``codecs`` per latent version for new groups, and the chunks this process owns
    (chunk k with k % num_shards == shard)."""

    chunk_size: int
    codecs: dict = field(default_factory=dict)
    shard: int = 0
    num_shards: int = 1

    def __post_init__(self):
        if not 0 <= self.shard < self.num_shards:  # a rule of sharding: every chunk has exactly one owner
            raise UserError(
                f"invalid value for 'extract.shard': {self.shard!r}; it must be an integer between 0 "
                f"and {self.num_shards - 1} (shard < num_shards)"
            )


def cached_latents(
    cache: str | Path,
    split: DatasetSplit,
    encoder: LatentEncoder,
    bpp: int,
    reader: ImageReader,
    extract: ExtractSettings,
    max_bad_fraction: float | None,
) -> tuple[LatentGroup, ExtractionStats]:
    """Open (or create) the group of ``split`` at ``bpp`` in the store at ``cache`` and extract what
    this process owns and is missing.

    The group is keyed by the dataset manifest (content hashes, memoised beside the cache) and the
    image reader's settings, so an edited image or another size policy never reuses latents.
    """
    manifest = manifest_hash(split, hash_memo(cache), reader.settings())
    size = reader.size
    group = LatentStore(cache).open(
        split, manifest, encoder, bpp, (size, size), extract.chunk_size, extract.codecs, reader.settings()
    )
    return group, fill_group(
        group, split, encoder, bpp, size, extract.shard, extract.num_shards, reader, max_bad_fraction
    )


__all__ = ["ExtractSettings", "ExtractionStats", "LatentGroup", "LatentStore", "cached_latents", "fill_group"]
