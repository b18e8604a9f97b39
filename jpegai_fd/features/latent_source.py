"""Cached latents as (C, H, W) tensors read on demand: the flatten matrix must fit in memory (11.8 GB for 30,000 DCT
images), a network reads one batch at a time from the last few decoded cache chunks."""

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import zarr

from jpegai_fd.features.raw_read import read_rows_into


class CachedLatentTensors:
    """The images at cache ``rows`` of ``arrays`` (model_y, then model_uv); ``shape``: of the flatten
    matrix they stand for. At most ``keep_chunks`` decoded chunks are kept (least recently used dropped)."""

    def __init__(self, arrays: Sequence[zarr.Array], rows: np.ndarray, keep_chunks: int = 8):
        self.arrays = list(arrays)
        self.rows = np.asarray(rows, dtype=np.int64)
        c = sum(a.shape[1] for a in self.arrays)
        self.tensor_shape = (c, *self.arrays[0].shape[2:])
        self.shape = (len(self.rows), int(np.prod(self.tensor_shape)))
        self.chunk_size = self.arrays[0].chunks[0]
        self.keep_chunks = keep_chunks
        self._chunks: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, idx) -> "CachedLatentTensors":
        return CachedLatentTensors(self.arrays, self.rows[np.asarray(idx)], self.keep_chunks)

    __getitem__ = subset  # X[rows] as with the matrix it stands for (a lazy subset, nothing read)

    def read(self, idx) -> np.ndarray:
        """Images at positions ``idx`` as (len(idx), C, H, W) float32, in the order given."""
        rows = self.rows[np.asarray(idx, dtype=np.int64)]
        out = np.empty((len(rows), *self.tensor_shape), dtype=np.float32)
        chunk_of = rows // self.chunk_size
        # Kept chunks first: loading the missing ones may drop kept ones, which must not be needed again.
        for k in sorted(np.unique(chunk_of), key=lambda k: int(k) not in self._chunks):
            at = np.flatnonzero(chunk_of == k)
            out[at] = self._chunk(int(k))[rows[at] - k * self.chunk_size]
        return out

    def _chunk(self, k: int) -> np.ndarray:
        if k in self._chunks:
            self._chunks.move_to_end(k)
            return self._chunks[k]
        first = k * self.chunk_size
        n = min(self.chunk_size, self.arrays[0].shape[0] - first)
        block = np.empty((n, self.shape[1]), dtype=np.float32)
        offset = 0
        for array in self.arrays:  # each component into its block of columns, as in the flatten matrix
            dim = int(np.prod(array.shape[1:]))
            read_rows_into(array, block[:, offset : offset + dim], first)
            offset += dim
        self._chunks[k] = block.reshape(n, *self.tensor_shape)
        if len(self._chunks) > self.keep_chunks:
            self._chunks.popitem(last=False)
        return self._chunks[k]

    def epoch_order(self, positions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``positions`` shuffled so that reading them in order touches each cache chunk once: chunks in
        random order, then the images of each window of ``keep_chunks`` chunks shuffled."""
        positions = np.asarray(positions)
        chunk_of = self.rows[positions] // self.chunk_size
        chunks = rng.permutation(np.unique(chunk_of))
        step = self.keep_chunks
        out = [rng.permutation(positions[np.isin(chunk_of, chunks[i : i + step])]) for i in range(0, len(chunks), step)]
        return np.concatenate(out) if out else positions[:0]
