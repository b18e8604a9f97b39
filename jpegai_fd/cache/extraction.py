"""Fill a latent group: decode in a thread at most ``PREFETCH_CHUNKS`` ahead of the encoder, encode chunk-sized batches,
write whole chunks; unreadable images go to ``failed`` with their reason."""

import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jpegai_fd.cache.locks import ChunkClaims, ChunkQueue
from jpegai_fd.cache.settings import ExtractSettings
from jpegai_fd.cache.store import LatentGroup, LatentStore, read_only_error
from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.datasets.manifest import hash_memo, manifest_hash
from jpegai_fd.datasets.split import DatasetSplit, check_bad_fraction
from jpegai_fd.encoders.base import LatentEncoder
from jpegai_fd.errors import UserError
from jpegai_fd.progress import progress

log = logging.getLogger(__name__)
PREFETCH_CHUNKS = 1
CLAIM_POLL_S = 0.2  # how often a job waiting on another job's chunks looks again


@dataclass
class ExtractionStats:
    extracted: int  # images encoded now
    cached: int
    unreadable: int = 0  # found now


def encode_readable(group: LatentGroup, encoder: LatentEncoder, images: np.ndarray, reasons: list, bpp: int) -> dict:
    """Latents of every row of a chunk, zero (the group's dtypes) for the unreadable ones (reason not None)."""
    keep = np.array([r is None for r in reasons], dtype=bool)
    if keep.all():
        return encoder.encode(images, bpp)
    arrays = {path: group.group[path].arrays() for path in ("y", "y_hat", "extras") if path in group.group}
    out = {p: {name: np.zeros((len(keep), *a.shape[1:]), a.dtype) for name, a in found} for p, found in arrays.items()}
    for key, value in (encoder.encode(images[keep], bpp) if keep.any() else {}).items():
        if isinstance(value, dict):
            for name, v in value.items():
                out[key][name][keep] = v
        else:  # per-image vector such as the encoder's own "failed"
            out[key] = np.zeros((len(keep), *np.shape(value)[1:]), np.asarray(value).dtype)
            out[key][keep] = value
    return out


@dataclass(frozen=True)
class Latents:
    """The latent groups of ``cache`` that ``encoder`` fills, with this process's ``extract.*`` settings."""

    cache: str | Path
    encoder: LatentEncoder
    extract: ExtractSettings

    def __call__(
        self, split: DatasetSplit, bpp: int, reader: ImageReader, max_bad_fraction: float | None = None
    ) -> tuple[LatentGroup, ExtractionStats]:
        """The group of ``split`` at ``bpp`` (keyed by content and reader settings), with what this process owns."""
        manifest = manifest_hash(split, hash_memo(self.cache), reader.settings())
        group = LatentStore(self.cache).open(split, manifest, self.encoder, bpp, reader, self.extract)
        return group, self.fill(group, split, bpp, reader, max_bad_fraction)

    def fill(
        self,
        group: LatentGroup,
        split: DatasetSplit,
        bpp: int,
        reader: ImageReader,
        max_bad_fraction: float | None = None,
    ) -> ExtractionStats:
        """Encode the missing chunks of ``group`` this shard owns (k % num_shards == shard), each durable once
        written."""
        failed, reasons, done = group.failures()
        if lost := group.lost_chunks(done | failed):
            where = f"{len(lost)} chunk(s) of cache group {group.group.path} in '{group.store_path}' are missing"
            if group.read_only is not None:
                raise UserError(
                    f"{where}; run python -m jpegai_fd.cache verify --cache {group.store_path} --repair "
                    "where the cache is writable, then extract again"
                )
            log.warning("%s (first: chunk %d); extracting their images again", where, lost[0])
            group.mark_damaged(lost)
            failed, reasons, done = group.failures()
        unreadable = [(str(split.paths[i]), str(reasons[i])) for i in np.flatnonzero(failed)]
        check_bad_fraction(split, unreadable, max_bad_fraction)
        todo = [k for k in group.missing_chunks(done | failed) if k % self.extract.num_shards == self.extract.shard]
        n_todo = sum(group.chunk_rows(k).stop - group.chunk_rows(k).start for k in todo)
        cached = int(done.sum())  # images with latents already (any shard's)
        if not todo:
            log.info("latents %s bpp=%d: all %d images cached, nothing to extract", split.name, bpp, len(group))
            return ExtractionStats(0, cached)
        if group.read_only is not None:
            what = f"lacks the latents of {n_todo} of {len(group)} images of {split.dataset}/{split.name} at bpp={bpp}"
            raise read_only_error(group.store_path, group.read_only, f"{what} (group {group.group.path})")
        msg = "latents %s bpp=%d: extracting %d images (%d already cached) with encoder %s"
        log.info(msg, split.name, bpp, n_todo, cached, self.encoder.name)
        bar = progress(f"extract {split.name} bpp={bpp}", n_todo, "img", log)
        filler = _Filler(group, split, self.encoder, bpp, reader, max_bad_fraction, unreadable)
        encoded, found = filler.run(ChunkQueue(todo, filler.claims, group.chunk_settled), bar)
        bar.close()  # other jobs may have encoded some chunks: the count stops short of the total
        if by_others := n_todo - encoded:
            msg = "latents %s bpp=%d: %d images were extracted meanwhile by another job sharing this cache"
            log.info(msg, split.name, bpp, by_others)
        return ExtractionStats(encoded - found, cached + by_others, found)


@dataclass
class _Filler:
    group: LatentGroup
    split: DatasetSplit
    encoder: LatentEncoder
    bpp: int
    reader: ImageReader
    max_bad_fraction: float | None
    unreadable: list  # (path, reason) of every unreadable image of the split so far

    def __post_init__(self):
        self.claims = ChunkClaims(self.group.claims_file)

    def run(self, chunks: ChunkQueue, bar) -> tuple[int, int]:
        """(images encoded, unreadable ones among them) once no chunk of ``chunks`` is left."""
        found = encoded = 0
        pending: deque = deque()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as pool:

            def submit_next() -> None:
                if (k := chunks.take()) is not None:
                    rows = self.group.chunk_rows(k)
                    pending.append((k, pool.submit(self.reader.read_batch, self.split.paths[rows])))

            for _ in range(1 + PREFETCH_CHUNKS):
                submit_next()
            try:
                while pending or not chunks.exhausted:
                    if not pending:  # every remaining chunk is being encoded by another job: wait for it
                        time.sleep(CLAIM_POLL_S)
                        submit_next()
                        continue
                    k, future = pending.popleft()
                    images, reasons = future.result()
                    submit_next()  # the next chunk decodes while this one encodes
                    found += self._store(k, images, reasons)
                    encoded += len(images)
                    check_bad_fraction(self.split, self.unreadable, self.max_bad_fraction)
                    bar.update(len(images))
            finally:
                for _, future in pending:
                    future.cancel()
                self.claims.close()
        return encoded, found

    def _store(self, k: int, images: np.ndarray, reasons: list) -> int:
        """Encode the readable images of chunk ``k``, write it, release its claim; the unreadable count."""
        bad = np.array([r is not None for r in reasons], dtype=bool)
        latents = encode_readable(self.group, self.encoder, images, reasons, self.bpp)
        self.group.write_chunk(k, latents, unreadable=bad, reasons=reasons)
        self.claims.release(k)
        first = self.group.chunk_rows(k).start
        for i in np.flatnonzero(bad):
            log.warning("unreadable image '%s' skipped: %s", self.split.paths[first + i], reasons[i])
            self.unreadable.append((str(self.split.paths[first + i]), reasons[i]))
        return int(bad.sum())
