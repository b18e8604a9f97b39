"""Ctrl-C and SIGTERM end a job the same way: as a KeyboardInterrupt, once.

SLURM, ``kill`` and loky (when it tears its workers down) send SIGTERM, a terminal sends SIGINT to the
whole process group. Both become one KeyboardInterrupt naming the signal, so that the job's run ends
KILLED; further signals are ignored meanwhile, so that a second Ctrl-C cannot cut that clean-up short
(it is bounded: see :func:`stop_descendants`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import psutil

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


PREFIX = "interrupted by "
_previous_hook = sys.unraisablehook


def _interrupt(signum, frame) -> None:
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise KeyboardInterrupt(f"{PREFIX}{signal.Signals(signum).name}")


def _once_more(signum, frame) -> None:
    signal.signal(signum, signal.SIG_IGN)
    raise KeyboardInterrupt(f"{PREFIX}{signal.Signals(signum).name}")


def _redeliver(unraisable) -> None:
    """A signal that lands while Python runs a finaliser (a weakref callback, ``__del__``) raises our
    KeyboardInterrupt where Python can only print it ("Exception ignored in ...") and drop it: send the
    signal again, so that it is raised once more, outside, and ends the job as it should."""
    exc = unraisable.exc_value
    if isinstance(exc, KeyboardInterrupt) and str(exc).startswith(PREFIX):
        signum = signal.Signals[str(exc)[len(PREFIX) :]]
        signal.signal(signum, _once_more)
        # From another thread, a moment later: sent from here it would be raised in this hook again.
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        return
    _previous_hook(unraisable)


def install() -> dict | None:
    """Turn SIGINT and SIGTERM into one KeyboardInterrupt; returns the previous handlers for
    :func:`restore` (None off the main thread, where Python cannot set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, _interrupt)
    sys.unraisablehook = _redeliver  # other unraisable exceptions go on to the hook that was there
    return previous


def restore(previous: dict | None) -> None:
    for s, handler in (previous or {}).items():
        signal.signal(s, handler)


def reason(exc: BaseException) -> str:
    """The ``error`` tag of a run ended by ``exc`` (a KeyboardInterrupt)."""
    return f"{type(exc).__name__}: {exc or 'interrupted'}"


def stop_descendants(grace_s: float = 15.0) -> int:
    """End every process this one started (loky workers, submitit's local jobs): SIGTERM, which each
    job turns into KILLED for its own run, then SIGKILL after ``grace_s``. Returns how many there were.

    Only once they are gone can no job create or end a run behind the back of the launching
    process's final sweep over the parent's runs.
    """

    def is_job(p) -> bool:  # loky's resource tracker ignores signals on purpose and ends after us
        try:
            return "resource_tracker" not in " ".join(p.cmdline())
        except psutil.Error:
            return False

    procs = [p for p in psutil.Process().children(recursive=True) if is_job(p)]
    for p in procs:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        log.debug("process %s did not end within %.0fs of SIGTERM; killing it", p.pid, grace_s)
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
    return len(procs)
