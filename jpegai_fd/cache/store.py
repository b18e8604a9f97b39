"""The latent cache: one Zarr v3 store, one group per (dataset manifest, encoder fingerprint, bpp, split), chunked
along N alike (``done`` written last); layout, checksums and read-only stores: docs/concepts/cache.md."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec, Crc32cCodec, ZstdCodec

from jpegai_fd.cache.locks import GroupUse, claims_path, creation_lock, read_only_reason
from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.encoders.base import COMPONENTS, LATENTS, LatentEncoder, Latents
from jpegai_fd.errors import UserError

# Measured on DCT latents (benchmarks/bench_cache_read.py): `y` compresses ~1.06x under any codec at
# 2-7x the raw read time; `y_hat` is mostly zeros, ~16x smaller with bit-shuffled LZ4 at ~2x the read
# time. Raw by default, so a feature matrix is a plain read; lz4 saves disk at thesis scale.
CODECS = {
    "none": lambda: None,
    "lz4": lambda: BloscCodec(cname="lz4", clevel=1, shuffle="bitshuffle"),
    "zstd": lambda: ZstdCodec(level=1),
}
DEFAULT_CODECS = {"y": "none", "y_hat": "none"}
zarr.config.set({"array.write_empty_chunks": True})  # an all-zero chunk is a file: a missing file is damage


def checksummed(array: zarr.Array) -> bool:
    return any(c.to_dict().get("name") == "crc32c" for c in getattr(array.metadata, "codecs", ()))


def read_only_error(store: Path, reason: str, what: str) -> UserError:
    return UserError(
        f"latent cache '{store}' is read-only ({reason}) and {what}; extract them where the cache is writable "
        "(python -m jpegai_fd.extract with the same dataset, encoder and bpp), or set paths.cache to a writable folder"
    )


@dataclass
class LatentGroup:
    group: zarr.Group
    chunk_size: int
    claims_file: Path | None = None  # chunk locks shared by the processes filling this group
    read_only: str | None = None  # why the store cannot be written (None: writable)
    store_path: Path | None = None
    use: GroupUse | None = None  # held while this group is open (see cache.locks)

    def __len__(self) -> int:
        return self.group["labels"].shape[0]

    def chunk_rows(self, k: int) -> slice:
        return slice(k * self.chunk_size, min((k + 1) * self.chunk_size, len(self)))

    def done_mask(self) -> np.ndarray:
        return self.group["done"][:]

    def failures(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(failed mask: images that could not be read, reason per image, done mask)."""
        return self.group["failed"][:], self.group["failure"][:], self.done_mask()

    def chunk_settled(self, k: int) -> bool:
        rows = self.chunk_rows(k)
        return bool((self.group["done"][rows] | self.group["failed"][rows]).all())

    def missing_chunks(self, settled: np.ndarray | None = None) -> list[int]:
        """Chunks with an image neither done nor failed, in order (``settled``: done | failed, if just read)."""
        settled = self.done_mask() | self.group["failed"][:] if settled is None else settled
        return [k for k in range(-(-len(self) // self.chunk_size)) if not settled[self.chunk_rows(k)].all()]

    def chunked_arrays(self) -> list[zarr.Array]:
        """The arrays written chunk by chunk (``labels`` and ``ids``, written at creation, left out)."""
        arrays = [a for _, a in self.group.members(max_depth=None) if isinstance(a, zarr.Array)]
        return [a for a in arrays if a.shape and a.chunks[0] == self.chunk_size and a.basename not in ("labels", "ids")]

    def lost_chunks(self, settled: np.ndarray) -> list[int]:
        """Settled chunks with a chunk file missing from a checksummed array (deleted, or a lost disk write)."""
        root, checked = Path(self.group.store.root), [a for a in self.chunked_arrays() if checksummed(a)]
        files = [(root / a.path / "c", "/0" * (a.ndim - 1)) for a in checked]  # chunk k: c/<k>/0/0/0
        settled_chunks = [k for k in range(-(-len(self) // self.chunk_size)) if settled[self.chunk_rows(k)].all()]
        return [k for k in settled_chunks if not all(Path(f"{c}/{k}{tail}").is_file() for c, tail in files)]

    def mark_damaged(self, chunks: list[int]) -> None:
        """Make ``chunks`` not done (and not failed): the next fill extracts their rows again."""
        for k in chunks:
            rows = self.chunk_rows(k)
            self.group["failed"][rows] = self.group["done"][rows] = np.zeros(rows.stop - rows.start, bool)

    def write_chunk(
        self, k: int, latents: Latents, unreadable: np.ndarray | None = None, reasons: list[str] | None = None
    ) -> None:
        """Store chunk ``k``'s latents, then mark its images done; ``unreadable`` rows go to ``failed``/``failure``."""
        rows = self.chunk_rows(k)
        failed = latents.get("failed")  # images the encoder could not code stay not done: retried next run
        done = np.ones(rows.stop - rows.start, dtype=bool) if failed is None else ~np.asarray(failed, dtype=bool)
        bad = np.zeros_like(done) if unreadable is None else np.asarray(unreadable, dtype=bool)
        try:
            for latent in LATENTS:
                for component in COMPONENTS:
                    self.group[f"{latent}/{component}"][rows] = latents[latent][component]
            for name, values in latents.get("extras", {}).items():  # optional forensics extras (jpegai)
                self.group[f"extras/{name}"][rows] = values
            self.group["failed"][rows] = bad
            self.group["failure"][rows] = np.array([r or "" for r in reasons or [""] * len(done)], dtype=str)
            self.group["done"][rows] = done & ~bad
        except OSError as exc:  # Zarr's error names no file: name the cache (a full disk, a read-only mount)
            raise OSError(exc.errno, exc.strerror, str(self.store_path)) from exc

    def array(self, latent: str, component: str) -> zarr.Array:
        return self.group[f"{latent}/{component}"]

    @property
    def labels(self) -> np.ndarray:
        return self.group["labels"][:]

    @property
    def ids(self) -> np.ndarray:
        return self.group["ids"][:]


class LatentStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.read_only = read_only_reason(self.path)
        if self.read_only is not None:
            if not (self.path / "zarr.json").is_file():
                raise UserError(
                    f"latent cache '{self.path}' cannot be created ({self.read_only}); "
                    f"set paths.cache to a writable folder"
                )
            self.root = zarr.open_group(str(self.path), mode="r")
            return
        # Under the lock: processes starting together would otherwise race to create the root group
        # (the loser fails with ContainsGroupError).
        with creation_lock(self.path):
            self.root = zarr.open_group(str(self.path), mode="a")

    @staticmethod
    def group_key(split: DatasetSplit, manifest: str, encoder: LatentEncoder, bpp: int) -> str:
        fingerprint = hashlib.sha256(json.dumps(encoder.fingerprint(), sort_keys=True).encode()).hexdigest()[:16]
        return f"{split.dataset}-{manifest[:16]}/{encoder.name}-{fingerprint}/bpp{bpp}/{split.name}"

    def open(
        self, split: DatasetSplit, manifest: str, encoder: LatentEncoder, bpp: int, reader: ImageReader, extract
    ) -> LatentGroup:
        """The group for these inputs, created empty if missing; its use mark is held from here on (gc spares it)."""
        key = self.group_key(split, manifest, encoder, bpp)
        use = GroupUse(self.path, key, writable=self.read_only is None)
        if f"{key}/done" not in self.root:
            if self.read_only is not None:
                what = f"has no latents for {split.dataset}/{split.name} at bpp={bpp} (group {key})"
                raise read_only_error(self.path, self.read_only, what)
            # Shards may get here at once: the first creates the group under the lock, the others then open it.
            with creation_lock(self.path):
                if f"{key}/done" not in self.root:
                    self._create(key, split, manifest, encoder, bpp, reader, extract)
        group = self.root[key]
        chunk = group["done"].chunks[0]  # the unit of work (labels and ids are one chunk)
        if len(group["labels"].shape) != 1 or group["labels"].shape[0] != len(split):
            raise UserError(f"cache group '{key}' in '{self.path}' does not match the dataset; delete it")
        return LatentGroup(group, chunk, claims_path(self.path, key), self.read_only, self.path, use)

    def _create(self, key, split, manifest, encoder, bpp, reader, extract) -> None:
        group, n, image_shape = self.root.require_group(key), len(split), (reader.size, reader.size)
        codecs, chunk_size = {**DEFAULT_CODECS, **extract.codecs}, extract.chunk_size

        def array(name: str, shape: tuple, dtype, chunk: int = chunk_size, **kw) -> zarr.Array:
            kw["compressors"] = [c for c in (kw.get("compressors"), Crc32cCodec()) if c is not None]  # last
            kw |= dict(shape=(n, *shape), chunks=(chunk, *shape), dtype=dtype, overwrite=True)
            return group.create_array(name, **kw)

        for component, shape in encoder.latent_shapes(*image_shape).items():
            for latent in LATENTS:
                array(f"{latent}/{component}", shape, "float32", compressors=CODECS[codecs[latent]](), fill_value=0.0)
        extra_shapes = getattr(encoder, "extra_shapes", None)
        for name, (shape, dtype) in (extra_shapes(*image_shape) if extra_shapes else {}).items():
            array(f"extras/{name}", shape, dtype, compressors=ZstdCodec(level=1), fill_value=0)
        # One chunk each (written once, here): one file to read. The masks stay chunked: shards write them.
        array("labels", (), "int8", max(n, 1))[:] = split.labels
        array("ids", (), str, max(n, 1))[:] = split.ids
        array("failed", (), "bool", fill_value=False)
        array("failure", (), str)
        root = str(split.root) if split.root is not None else None
        group.attrs.update(
            dict(dataset=split.dataset, split=split.name, manifest=manifest, bpp=bpp, encoder=encoder.fingerprint())
            | dict(image_shape=list(image_shape), root=root, reading=reader.settings())
        )
        # Created last: a group without "done" is an interrupted creation and is rebuilt next time.
        array("done", (), "bool", fill_value=False)
