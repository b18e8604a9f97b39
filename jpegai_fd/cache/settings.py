"""How a process fills the cache: the ``extract.*`` keys, as plain values (light: no zarr)."""

from typing import Annotated, Literal

import pydantic
from pydantic.dataclasses import dataclass


@dataclass(frozen=True)
class ExtractSettings:
    """``chunk_size`` images per chunk and batch, ``codecs`` per latent for new groups, this process's shard."""

    chunk_size: Annotated[int, pydantic.Field(ge=1)]
    codecs: dict[str, Literal["none", "lz4", "zstd"]] = pydantic.Field(default_factory=dict)
    num_shards: Annotated[int, pydantic.Field(ge=1)] = 1
    shard: Annotated[int, pydantic.Field(ge=0)] = 0

    @pydantic.field_validator("shard")
    @classmethod
    def _owner(cls, shard: int, info: pydantic.ValidationInfo) -> int:
        n = info.data.get("num_shards", 1)
        if shard >= n:  # a rule of sharding: every chunk has exactly one owner
            raise ValueError(f"it must be an integer between 0 and {n - 1} (shard < num_shards)")
        return shard
