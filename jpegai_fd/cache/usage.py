"""Group use marks: which processes have a cache group open, and when a group was last opened.

Each group has a file ``<store>.used/<group hash>`` (outside the Zarr tree) holding its key. A process
that opens the group holds a shared ``flock`` on it while it keeps the group (the OS drops it when the
process dies) and stamps its mtime: the group's "last used". ``python -m jpegai_fd.cache gc`` takes
the exclusive lock without waiting before removing a group, so a group in use is never removed; a
job opening a group that gc is removing waits, finds it gone and extracts it again. On a read-only
cache an existing mark is only locked (shared), so gc elsewhere still sees the reader.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path


def used_path(store: Path, key: str) -> Path:
    """The use mark of group ``key`` of the store at ``store``."""
    return store.with_name(store.name + ".used") / hashlib.sha256(key.encode()).hexdigest()[:24]


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (gc unlinks a removed group's mark)."""
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


class GroupUse:
    """A held use mark (shared lock); released by :meth:`close`, garbage collection or process exit."""

    def __init__(self, fd: int | None):
        self.fd = fd

    @classmethod
    def acquire(cls, store: Path, key: str, writable: bool) -> "GroupUse":
        """Take the shared lock on the mark of ``key`` (waiting while gc removes the group) and, when
        ``writable``, create the mark if needed and stamp it as used now."""
        path = used_path(store, key)
        while True:
            if writable:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            else:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:  # no mark on a read-only cache: nothing to lock, nothing can remove it here
                    return cls(None)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
            except OSError:  # a file system without flock: no protection against gc, but reading works
                return cls._stamped(fd, key, writable)
            if _same_file(fd, path):
                return cls._stamped(fd, key, writable)
            os.close(fd)  # gc removed the group and its mark while we waited: take the new mark

    @classmethod
    def _stamped(cls, fd: int, key: str, writable: bool) -> "GroupUse":
        if writable:
            if os.fstat(fd).st_size == 0:
                os.write(fd, key.encode())
            os.utime(fd)
        return cls(fd)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self):
        self.close()


def try_exclusive(path: Path) -> int | None:
    """An fd holding the exclusive lock on the mark at ``path`` (created if missing), or None when a
    process has the group open. Close the fd to release."""
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
