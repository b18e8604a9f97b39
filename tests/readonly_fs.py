"""Run a command with one folder on a really read-only file system, whoever runs the tests.

``chmod -R a-w`` does not stop root (the tests run as root here and in CI), so the folder is
bind-mounted read-only in a private mount namespace that only the command sees (``unshare -m``, as
root), or in a user namespace (``unshare -rm``, where unprivileged user namespaces are allowed).
Where neither is possible the command runs as an unprivileged user (root) or as the current user
(non-root) with the folder's write permission removed: the writes then fail with EACCES instead of
EROFS, both of which the cache treats as read-only. :func:`readonly_runner` checks that a write
really fails before it hands the runner out, so a test using it never passes without exercising a
read-only folder.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from collections.abc import Callable

REMOUNT = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'
NOBODY = 65534
Runner = Callable[[list[str]], list[str]]


def _namespace(flags: list[str]) -> Callable[[Path], Runner]:
    def make(folder: Path) -> Runner:
        return lambda cmd: ["unshare", *flags, "--propagation", "private", "sh", "-c", REMOUNT, "sh", str(folder), *cmd]

    return make


def _chmod_all(folder: Path, writable: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _unprivileged(folder: Path) -> Runner:
    """No namespaces: drop write permission (and, as root, run as nobody, with setpriv)."""
    _chmod_all(folder, writable=False)
    if os.geteuid() != 0:
        return lambda cmd: cmd
    return lambda cmd: ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]


MECHANISMS: dict[str, Callable[[Path], Runner]] = {
    "mount-namespace": _namespace(["-m"]),
    "user-namespace": _namespace(["-r", "-m"]),
    "permissions": _unprivileged,
}


def _write_fails(runner: Runner, folder: Path) -> bool:
    probe = folder / ".readonly-probe"
    proc = subprocess.run(runner(["sh", "-c", 'echo x > "$1"', "sh", str(probe)]), capture_output=True, text=True)
    written = probe.exists()
    if written:
        probe.unlink()
    return proc.returncode != 0 and not written


def _works(runner: Runner) -> bool:
    try:
        return subprocess.run(runner([sys.executable, "-c", "pass"]), capture_output=True).returncode == 0
    except OSError:
        return False


def readonly_runner(folder: Path, only: str | None = None) -> tuple[str, Runner]:
    """(mechanism name, a function wrapping an argv so that it runs with ``folder`` read-only).

    ``only`` forces one mechanism (``JFD_READONLY`` in the environment does the same). Raises
    RuntimeError when no mechanism makes a write into ``folder`` fail (never silently skips)."""
    only = only or os.environ.get("JFD_READONLY")
    tried = []
    for name, make in MECHANISMS.items():
        if only and name != only:
            continue
        if name != "permissions" and shutil.which("unshare") is None:
            tried.append(f"{name}: no unshare")
            continue
        runner = make(folder)
        if _works(runner) and _write_fails(runner, folder):
            return name, runner
        tried.append(f"{name}: unavailable here")
    raise RuntimeError(f"cannot make '{folder}' read-only for a test command ({'; '.join(tried)})")


def open_up(folder: Path) -> None:
    """Undo the permissions mechanism (so that pytest can delete the folder)."""
    _chmod_all(folder, writable=True)
