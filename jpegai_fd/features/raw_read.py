"""Fast path for uncompressed cached latents: ``readinto`` each image's row of the matrix straight from the chunk file
(``c/<k>/0/0/0``, C-order bytes, then the ``crc32c`` checksum) is about twice as fast as decoding through Zarr
(benchmarks/bench_cache_read.py); checks as in docs/concepts/cache.md (Integrity)."""

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import google_crc32c
import numpy as np
import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.storage import LocalStore

from jpegai_fd.errors import UserError

READ_THREADS = min(4, os.cpu_count() or 1)


def _raw_chunk_dir(array: zarr.Array) -> tuple[Path, bool] | None:
    """(folder of the array's chunk files, checksummed) if its chunks are plain little-endian bytes on local disk."""
    meta = array.metadata
    codecs = [c.to_dict() for c in getattr(meta, "codecs", ())]
    encoding = getattr(meta, "chunk_key_encoding", None)
    if (
        [(c.get("name"), c.get("configuration", {}).get("endian", "little")) for c in codecs]
        not in ([("bytes", "little")], [("bytes", "little"), ("crc32c", "little")])
        or sys.byteorder != "little"
        or not isinstance(array.store, LocalStore)
        or getattr(encoding, "name", None) != "default"
        or getattr(encoding, "separator", None) != "/"
        or array.chunks[1:] != array.shape[1:]
        or np.dtype(array.dtype) != np.float32
    ):
        return None
    return Path(array.store.root) / array.path, len(codecs) == 2


def read_rows_into(array: zarr.Array, out: np.ndarray, first: int = 0) -> None:
    """Fill ``out`` (n, prod(C, H, W)) float32, rows possibly strided, with ``array[first:first + n]``."""
    try:
        if (raw := _raw_chunk_dir(array)) is not None and _read_raw(array, *raw, out, first):
            return
        columns = out.reshape(len(out), *array.shape[1:])
        assert np.shares_memory(columns, out)  # a reshape that copied would silently drop the data
        buffer = default_buffer_prototype().nd_buffer.from_numpy_array(columns)
        array.get_basic_selection(slice(first, first + len(out)), out=buffer)
    except (ValueError, OSError) as exc:  # a checksum mismatch, a truncated or unreadable chunk file
        root = getattr(array.store, "root", array.store)
        raise UserError(
            f"cached latents '{array.path}' rows {first}-{first + len(out) - 1} in '{root}' are damaged "
            f"({str(exc).splitlines()[0][:120]}); run python -m jpegai_fd.cache verify --cache {root} --repair, "
            "then rerun to extract them again"
        ) from exc


def _read_raw(array: zarr.Array, folder: Path, checked: bool, out: np.ndarray, first: int) -> bool:
    """Read rows from the chunk files; False (nothing trusted) if a chunk was never written, or for a
    checksummed chunk read from mid-chunk (Zarr then reads and checks it). A few
    threads read at once: ``readinto`` releases the GIL (about 2x faster on 2 cores than one thread)."""
    step = array.chunks[0]
    tail = "/".join("0" for _ in array.shape[1:])
    row_bytes = out.shape[1] * 4
    segments, i = [], 0
    while i < out.shape[0]:
        k, within = divmod(first + i, step)
        path = folder / "c" / str(k) / tail
        if not path.is_file():
            return False  # a never-written chunk holds fill values: let Zarr supply them
        if checked and within:
            return False
        count = min(step - within, out.shape[0] - i)
        segments.append((path, within, i, count))
        i += count

    def read(segment) -> None:
        path, within, start, count = segment
        crc = 0
        with path.open("rb", buffering=0) as handle:
            handle.seek(within * row_bytes)
            for j in range(start, start + count):
                view = memoryview(out[j]).cast("B")
                if handle.readinto(view) != view.nbytes:
                    raise OSError(f"short read in cached chunk '{path}'")
                crc = google_crc32c.extend(crc, out[j]) if checked else 0
            rest = handle.read() if checked else b""
        if checked and (len(rest) < 4 or google_crc32c.extend(crc, rest[:-4]) != int.from_bytes(rest[-4:], "little")):
            raise ValueError(f"checksum mismatch in cached chunk '{path}'")

    with ThreadPoolExecutor(max_workers=min(READ_THREADS, len(segments))) as pool:
        list(pool.map(read, segments))
    return True
