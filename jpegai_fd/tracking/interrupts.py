"""Ctrl-C and SIGTERM (SLURM, ``kill``, loky) end a job as one KeyboardInterrupt naming the signal (its run
ends KILLED); further signals are ignored meanwhile, so a second Ctrl-C cannot cut the clean-up short."""

import contextlib
import logging
import os
import signal
import sys
import threading

import psutil

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)
WARNINGS = (signal.SIGUSR1, signal.SIGUSR2)  # what a scheduler sends before a time limit (SLURM's --signal)
PREFIX = "interrupted by "
_previous_hook = sys.unraisablehook


def _interrupt(signum, frame, ignore=SIGNALS, why: str = "") -> None:
    for s in ignore:
        signal.signal(s, signal.SIG_IGN)
    raise KeyboardInterrupt(f"{PREFIX}{signal.Signals(signum).name}{why}")


def _fatal(handler):
    """``handler`` (submitit's, on SLURM's time-limit warning) raises an Exception that running code may catch
    (Optuna fails the trial, goes on) or a SystemExit (requeued): raised as a KeyboardInterrupt, the job ends KILLED."""

    def handle(signum, frame) -> None:
        try:
            handler(signum, frame)
        except (Exception, SystemExit) as exc:  # noqa: BLE001  (_interrupt raises it as the interrupt that ends the job)
            _interrupt(signum, frame, why=f": {exc if isinstance(exc, Exception) else 'requeued'}")

    return handle


def _redeliver(unraisable) -> None:
    """Python only prints our KeyboardInterrupt raised in a finaliser: send the signal again to raise it outside."""
    exc = unraisable.exc_value
    if isinstance(exc, KeyboardInterrupt) and str(exc).startswith(PREFIX):
        signum = signal.Signals[str(exc)[len(PREFIX) :].split(":")[0]]
        signal.signal(signum, lambda n, frame: _interrupt(n, frame, (n,)))  # once more
        # From another thread, a moment later: sent from here it would be raised in this hook again.
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        return
    _previous_hook(unraisable)


def install() -> dict | None:
    """SIGINT and SIGTERM as one KeyboardInterrupt; the previous handlers (None off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = {s: signal.getsignal(s) for s in (*SIGNALS, *WARNINGS)}
    for s in SIGNALS:
        signal.signal(s, _interrupt)
    for s in WARNINGS:
        if callable(previous[s]):
            signal.signal(s, _fatal(previous[s]))
    sys.unraisablehook = _redeliver  # other unraisable exceptions go on to the hook that was there
    return previous


def restore(previous: dict | None) -> None:
    for s, handler in (previous or {}).items():
        if handler is not None:  # None: a handler not set from Python, which cannot be set back
            signal.signal(s, handler)


def reason(exc: BaseException) -> str:  # the ``error`` tag of a run ended by a KeyboardInterrupt
    return f"{type(exc).__name__}: {exc or 'interrupted'}"


def stop_descendants(grace_s: float = 15.0) -> int:
    """SIGTERM descendants, SIGKILL after ``grace_s``: none touches a run after the launcher's last sweep; how many."""

    def is_job(p) -> bool:  # loky's resource tracker ignores signals on purpose and ends after us
        try:
            return "resource_tracker" not in " ".join(p.cmdline())
        except psutil.Error:
            return False

    procs = [p for p in psutil.Process().children(recursive=True) if is_job(p)]
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        log.debug("process %s did not end within %.0fs of SIGTERM; killing it", p.pid, grace_s)
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
    return len(procs)
