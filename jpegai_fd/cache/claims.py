"""Chunk claims: processes filling the same cache group never encode the same chunk twice.

Jobs of a sweep that share a bpp open the same group at once. Each chunk is claimed with a POSIX
record lock on byte ``k`` of the group's lock file before it is encoded and released once written; a
busy chunk is revisited later (by then usually written). The OS drops a dead process's locks, so its
chunk is simply claimed again. Locks are per process: one process fills a group from one thread.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
from collections import deque
from pathlib import Path
from collections.abc import Callable

from jpegai_fd.errors import UserError

log = logging.getLogger(__name__)


class ChunkClaims:
    """Advisory per-chunk locks in the file ``path`` (created on first use).

    Where the file system refuses locks (some network mounts), every claim succeeds and a warning
    says that concurrent jobs may encode the same chunks (which costs time, never correctness:
    the latents written are identical)."""

    def __init__(self, path: Path | None):
        self.fd, self.enabled = None, path is not None  # no path (a group made outside a store): no locks
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                if err.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                    raise
                raise UserError(
                    f"cannot create the chunk claims file '{path}' ({err.strerror}) to extract "
                    f"latents; make its folder writable or set paths.cache to a writable folder"
                ) from None

    def try_claim(self, k: int) -> bool:
        """Claim chunk ``k`` without waiting; False when another process holds it."""
        if not self.enabled:
            return True
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, k)
            return True
        except OSError as err:
            if err.errno in (errno.EACCES, errno.EAGAIN):
                return False
            log.warning("cache: chunk locks unavailable here (%s); concurrent jobs may encode the same chunks", err)
            self.enabled = False
            return True

    def release(self, k: int) -> None:
        if self.enabled:
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, k)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # also drops every lock this process holds on the file


def claims_path(store: Path, key: str) -> Path:
    """The lock file of group ``key`` of the store at ``store`` (beside it, outside the Zarr tree)."""
    return store.with_name(store.name + ".claims") / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".lock")


class ChunkQueue:
    """The chunks of ``todo`` this process encodes, in order, each claimed before it is handed out.

    ``settled(k)`` says whether chunk ``k`` has been written (by anyone) since ``todo`` was listed;
    such chunks are dropped and counted in :attr:`skipped`."""

    def __init__(self, todo: list[int], claims: ChunkClaims, settled: Callable[[int], bool]):
        self.fresh, self.busy = deque(todo), deque()
        self.claims, self.settled = claims, settled
        self.skipped: list[int] = []

    @property
    def exhausted(self) -> bool:
        return not self.fresh and not self.busy

    def take(self) -> int | None:
        """Claim and return the next chunk to encode; None when every remaining chunk is held by
        another process right now (call again later) or none is left (see :attr:`exhausted`)."""
        while self.fresh:
            k = self.fresh.popleft()
            if self._claim(k):
                return k
        for _ in range(len(self.busy)):
            k = self.busy.popleft()
            if self._claim(k):
                return k
        return None

    def _claim(self, k: int) -> bool:
        if not self.claims.try_claim(k):
            self.busy.append(k)
            return False
        if self.settled(k):  # its claimer finished it while this process looked elsewhere
            self.claims.release(k)
            self.skipped.append(k)
            return False
        return True
