"""The dataset manifest: per image id, path, label, file size and content hash; its digest keys the cache. Hashes are
memoised by (path, size, mtime_ns) in a SQLite file (docs/concepts/cache.md): a failed write only costs a rehash."""

import csv
import hashlib
import io
import json
import logging
import os
import sqlite3
from pathlib import Path

from jpegai_fd.datasets.split import DatasetSplit

log = logging.getLogger(__name__)
HASH_BYTES = 16


def file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=HASH_BYTES)).hexdigest()


class FileHashes:
    """Content hashes memoised in the SQLite file ``path`` (None: no memo, hash every time)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=60)
        con.execute(
            "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, digest TEXT)"
        )
        return con

    def sizes_and_digests(self, paths) -> list[tuple[int, str]]:
        """(size in bytes, hex digest) of each path, in order; unchanged files come from the memo."""
        stats = [os.stat(p) for p in paths]
        known, con = {}, None
        if self.path is not None:
            try:
                con = self._connect()
                known = {row[0]: row[1:] for row in con.execute("SELECT path, size, mtime_ns, digest FROM hashes")}
            except (sqlite3.Error, OSError) as exc:  # e.g. no memo yet on a read-only cache
                log.warning("file-hash memo %s unreadable (%s); hashing every file", self.path, exc)
        out, fresh = [], []
        for path, st in zip(paths, stats):
            size, mtime_ns, digest = known.get(str(path), (None, None, None))
            if (size, mtime_ns) != (st.st_size, st.st_mtime_ns):
                digest = file_digest(path)
                fresh.append((str(path), st.st_size, st.st_mtime_ns, digest))
            out.append((st.st_size, digest))
        if con is not None:
            try:
                if fresh:
                    with con:
                        con.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?)", fresh)
            except sqlite3.Error as exc:  # another process holds the lock for long: the memo is only a shortcut
                log.warning("file-hash memo %s not updated (%s)", self.path, exc)
            finally:
                con.close()
        return out


def hash_memo(cache: str | Path) -> FileHashes:
    """The content-hash memo beside the latent cache at ``cache`` (``<cache>.hashes.sqlite``)."""
    cache = Path(cache)
    return FileHashes(cache.with_name(cache.name + ".hashes.sqlite"))


def manifest_rows(split: DatasetSplit, hashes: FileHashes | None = None) -> list[dict]:
    """One dict per image of ``split``: id, path (relative to the root), label, size, hash."""
    root = str(split.root) if split.root is not None else None
    pairs = (hashes or FileHashes()).sizes_and_digests(split.paths)
    rows = []
    for image_id, path, label, (size, digest) in zip(split.ids, split.paths, split.labels, pairs):
        shown = Path(os.path.relpath(path, root) if root else path).as_posix()
        rows.append({"id": str(image_id), "path": shown, "label": int(label), "size": size, "hash": digest})
    return rows


def manifest_hash(split: DatasetSplit, hashes: FileHashes | None = None, reading: dict | None = None) -> str:
    """SHA-256 over the manifest rows (in order) and the ``reading`` settings."""
    digest = hashlib.sha256(json.dumps(reading or {}, sort_keys=True).encode())
    for row in manifest_rows(split, hashes):
        digest.update(f"{row['id']}\t{row['path']}\t{row['label']}\t{row['size']}\t{row['hash']}\n".encode())
    return digest.hexdigest()


def manifest_csv(split: DatasetSplit, group=None, hashes: FileHashes | None = None) -> str:
    """``split``'s manifest as CSV with ``status`` (done, pending, skipped, unreadable) and ``reason``."""
    n = len(split)
    failed, reasons, done = group.failures() if group is not None else ([False] * n, None, [False] * n)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["id", "path", "label", "size", "hash", "status", "reason"])
    writer.writeheader()
    for i, row in enumerate(manifest_rows(split, hashes)):
        status = "unreadable" if failed[i] else "done" if done[i] else "pending"
        writer.writerow({**row, "status": status, "reason": reasons[i] if failed[i] else ""})
    for s in split.skipped:
        writer.writerow({"id": s.id, "path": s.path, "label": s.label, "status": "skipped", "reason": s.reason})
    return buffer.getvalue()
