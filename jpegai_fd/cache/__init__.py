"""The Zarr latent cache and the extraction that fills it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic.dataclasses import dataclass

from jpegai_fd.cache.extraction import ExtractionStats, fill_group
from jpegai_fd.cache.store import LatentGroup, LatentStore
from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.datasets.manifest import hash_memo, manifest_hash
from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.encoders.base import LatentEncoder

Codec = Literal["none", "lz4", "zstd"]


@dataclass(frozen=True)
class ExtractSettings:
    """The ``extract`` keys: ``chunk_size`` images per Zarr chunk and encoder batch, ``codecs`` per
    latent version for new groups, and the chunks this process owns (k % num_shards == shard)."""

    chunk_size: Annotated[int, Field(ge=1, strict=True)]
    codecs: dict[Literal["y", "y_hat"], Codec] = Field(default_factory=dict)
    shard: Annotated[int, Field(ge=0, strict=True)] = 0
    num_shards: Annotated[int, Field(ge=1, strict=True)] = 1

    @model_validator(mode="after")
    def _one_owner_per_chunk(self) -> ExtractSettings:
        if self.shard >= self.num_shards:
            raise ValueError(f"shard must be below num_shards ({self.num_shards}): each chunk has one owner")
        return self


def cached_latents(
    cache: str | Path,
    split: DatasetSplit,
    encoder: LatentEncoder,
    bpp: int,
    reader: ImageReader,
    extract: ExtractSettings,
    max_bad_fraction: float | None,
) -> tuple[LatentGroup, ExtractionStats]:
    """Open (or create) the group of ``split`` at ``bpp`` in the store at ``cache`` and extract what this
    process owns and is missing. The group's key covers the manifest (content hashes, memoised beside
    the cache) and the reader's settings: an edited image or another size policy never reuses latents."""
    manifest = manifest_hash(split, hash_memo(cache), reader.settings())
    size = reader.size
    group = LatentStore(cache).open(
        split, manifest, encoder, bpp, (size, size), extract.chunk_size, extract.codecs, reader.settings()
    )
    return group, fill_group(
        group, split, encoder, bpp, size, extract.shard, extract.num_shards, reader, max_bad_fraction
    )


__all__ = ["ExtractSettings", "ExtractionStats", "LatentGroup", "LatentStore", "cached_latents", "fill_group"]
