"""Fill a latent group: decode images, encode them in chunk-sized batches, write whole chunks."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from jpegai_fd.cache.store import LatentGroup
from jpegai_fd.datasets.images import read_batch
from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.encoders.base import LatentEncoder
from jpegai_fd.progress import Progress

log = logging.getLogger(__name__)


@dataclass
class ExtractionStats:
    """What one fill did: images encoded now, images already cached, wall seconds."""

    extracted: int
    cached: int
    seconds: float


def fill_group(group: LatentGroup, split: DatasetSplit, encoder: LatentEncoder, bpp: int, image_size: int,
               shard: int = 0, num_shards: int = 1) -> ExtractionStats:
    """Encode every missing chunk of ``group`` that this shard owns (chunk k with k % num_shards == shard).

    Returns counts and time; each chunk is durable as soon as it is written, so an interrupted fill
    resumes where it stopped.
    """
    start = time.perf_counter()
    todo = [k for k in group.missing_chunks() if k % num_shards == shard]
    n_todo = sum(group.chunk_rows(k).stop - group.chunk_rows(k).start for k in todo)
    cached = len(group) - n_todo
    if not todo:
        log.info("latents %s bpp=%d: all %d images cached, nothing to extract", split.name, bpp, len(group))
        return ExtractionStats(0, cached, time.perf_counter() - start)
    log.info("latents %s bpp=%d: extracting %d images (%d already cached) with encoder %s",
             split.name, bpp, n_todo, cached, encoder.name)
    progress = Progress(f"extract {split.name} bpp={bpp}", n_todo, "img", log)
    for k in todo:
        rows = group.chunk_rows(k)
        images = read_batch(split.paths[rows], image_size)
        group.write_chunk(k, encoder.encode(images, bpp))
        progress.update(rows.stop - rows.start)
    return ExtractionStats(n_todo, cached, time.perf_counter() - start)
