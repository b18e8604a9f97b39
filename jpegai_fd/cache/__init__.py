"""The Zarr latent cache and the extraction that fills it."""

from __future__ import annotations

from pathlib import Path

from jpegai_fd.cache.settings import ExtractSettings
from jpegai_fd.cache.extraction import ExtractionStats, fill_group
from jpegai_fd.cache.store import LatentGroup, LatentStore
from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.datasets.manifest import hash_memo
from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.encoders.base import LatentEncoder


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
    manifest = split.manifest_hash(hash_memo(cache), reader.settings())
    size = reader.size
    group = LatentStore(cache).open(
        split, manifest, encoder, bpp, (size, size), extract.chunk_size, extract.codecs, reader.settings()
    )
    return group, fill_group(
        group, split, encoder, bpp, size, extract.shard, extract.num_shards, reader, max_bad_fraction
    )


__all__ = ["ExtractSettings", "ExtractionStats", "LatentGroup", "LatentStore", "cached_latents", "fill_group"]
