"""The latent cache's locks, in files beside the store, which the OS drops when a process dies: ``.lock`` (creation,
gc), ``.claims/`` (one byte per chunk), ``.used/`` (use marks); docs/concepts/cache.md says why each."""

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from jpegai_fd.errors import UserError

log = logging.getLogger(__name__)
READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


@contextmanager
def creation_lock(store: Path):
    lock_path = store.with_name(store.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:  # closing the file releases the lock
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def read_only_reason(store: Path) -> str | None:
    """Why the store or its lock folder is not writable, or None (``os.access`` sees read-only mounts for root too)."""
    for folder in (store, store.parent):  # the store and the folder of its lock files
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is not None and not os.access(existing, os.W_OK):
            return os.strerror(errno.EROFS if os.statvfs(existing).f_flag & os.ST_RDONLY else errno.EACCES)
    try:
        with creation_lock(store):
            pass
    except OSError as err:
        if err.errno not in READ_ONLY_ERRNOS:
            raise
        return err.strerror
    return None


class ChunkClaims:
    """Per-chunk locks in ``path``; where the file system refuses locks every claim succeeds (time, not correctness)."""

    def __init__(self, path: Path | None):
        self.fd, self.enabled = None, path is not None  # no path (a group made outside a store): no locks
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                if err.errno not in READ_ONLY_ERRNOS:
                    raise
                raise UserError(
                    f"cannot create the chunk claims file '{path}' ({err.strerror}) to extract "
                    f"latents; make its folder writable or set paths.cache to a writable folder"
                ) from None

    def try_claim(self, k: int) -> bool:
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


def used_path(store: Path, key: str, kind: str = ".used") -> Path:
    return store.with_name(store.name + kind) / hashlib.sha256(key.encode()).hexdigest()[:24]


def claims_path(store: Path, key: str) -> Path:
    return used_path(store, key, ".claims").with_suffix(".lock")


class ChunkQueue:
    """The chunks of ``todo`` this process encodes, each claimed first; those settled meanwhile are passed over."""

    def __init__(self, todo: list[int], claims: ChunkClaims, settled: Callable[[int], bool]):
        self.fresh, self.busy = deque(todo), deque()
        self.claims, self.settled = claims, settled

    @property
    def exhausted(self) -> bool:
        return not self.fresh and not self.busy

    def take(self) -> int | None:
        """The next chunk, claimed; None when the rest are held by others now (call again) or none is left."""
        for queue in (self.fresh, self.busy):  # busy: once each, counting those fresh ones just found busy
            for _ in range(len(queue)):
                if not self.claims.try_claim(k := queue.popleft()):
                    self.busy.append(k)
                elif self.settled(k):  # its claimer finished it while this process looked elsewhere
                    self.claims.release(k)
                else:
                    return k
        return None


class GroupUse:
    """A held use mark of ``key`` (shared lock; taken once gc has removed the group, if it was); ``writable``: created
    and stamped. Released by :meth:`close`, garbage collection or process exit."""

    def __init__(self, store: Path, key: str, writable: bool):
        path, self.fd = used_path(store, key), None
        while True:
            if writable:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            else:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:  # no mark on a read-only cache: nothing to lock, nothing can remove it here
                    return
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
            except OSError:  # a file system without flock: no protection against gc, but reading works
                break
            with contextlib.suppress(FileNotFoundError):  # gc unlinks a removed group's mark
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break
            os.close(fd)  # gc removed the group and its mark while we waited: take the new mark
        if writable:
            if os.fstat(fd).st_size == 0:
                os.write(fd, key.encode())
            os.utime(fd)
        self.fd = fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    __del__ = close


def try_exclusive(path: Path) -> int | None:
    """An fd holding the exclusive lock on the mark at ``path`` (created if missing), or None: the group is open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except OSError:
        os.close(fd)
        return None


def in_use(path: Path) -> bool:
    """Whether a process holds the mark at ``path`` now (read-only check; a missing mark: no)."""
    try:
        fd = os.open(path, os.O_RDWR)  # NFS emulates flock with record locks: an exclusive one needs write access
    except OSError:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)
