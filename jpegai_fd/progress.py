"""Progress of a long step, in the terminal's conventions.

* On a terminal (stderr is a TTY): one bar on stderr, redrawn in place at most 5 times a second,
  ``label [#####-----] done/total unit rate ETA``; when the step ends the bar is replaced by one
  ordinary log line (so the job's log file records the step).
* Otherwise (logs, pipes, SLURM files, the tests): a log line at most every ``every_s`` seconds and
  one when the step ends.
* Quiet under the logging rules Hydra sets up: nothing at all when ``logger`` does not log INFO
  (e.g. ``hydra.job_logging.root.level=WARNING`` or ``hydra/job_logging=disabled``); ``hydra.verbose``
  only adds DEBUG lines elsewhere. ``JPEGAI_FD_PROGRESS=lines`` forces log lines on a terminal too.
"""

from __future__ import annotations

import logging
import os
import sys
import time

BAR_WIDTH = 24
REDRAW_S = 0.2


def _use_bar(stream) -> bool:
    if os.environ.get("JPEGAI_FD_PROGRESS", "") == "lines" or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _eta(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    return f"{seconds:.0f}s" if seconds < 90 else f"{seconds / 60:.0f}min"


class Progress:
    """Counts finished units of ``total`` and reports ``label: done/total unit (rate/s, ETA)``.

    ``update(n)`` after each unit; ``close()`` when the step ends early (a bar is replaced by its final
    line; the final line is written once ``done`` reaches ``total`` anyway). ``stream``: where a bar
    goes (default ``sys.stderr``).
    """

    def __init__(self, label: str, total: int, unit: str, logger: logging.Logger, every_s: float = 5.0, stream=None):
        self.label, self.total, self.unit, self.log, self.every_s = label, int(total), unit, logger, every_s
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = logger.isEnabledFor(logging.INFO) and self.total > 0
        self.bar = self.enabled and _use_bar(self.stream)
        self.done = 0
        self.closed = False
        self.start = self._last = time.perf_counter()
        if self.bar:
            self._draw(self.start)

    def _numbers(self, now: float) -> tuple[float, float, float]:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        return elapsed, rate, eta

    def _draw(self, now: float) -> None:
        _, rate, eta = self._numbers(now)
        filled = int(BAR_WIDTH * min(self.done, self.total) / self.total)
        text = (
            f"\r{self.label} [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self.done}/{self.total} {self.unit}"
            f"  {rate:.1f} {self.unit}/s  ETA {_eta(eta)}"
        )
        self.stream.write(text + "\x1b[K")
        self.stream.flush()

    def _line(self, now: float) -> None:
        elapsed, rate, eta = self._numbers(now)
        self.log.info(
            "%s: %d/%d %s (%.1f %s/s, elapsed %.1fs, ETA %.1fs)",
            self.label,
            self.done,
            self.total,
            self.unit,
            rate,
            self.unit,
            elapsed,
            eta,
        )

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled or self.closed:
            return
        now = time.perf_counter()
        if self.done >= self.total:
            self.close()
        elif self.bar and now - self._last >= REDRAW_S:
            self._last = now
            self._draw(now)
        elif not self.bar and now - self._last >= self.every_s:
            self._last = now
            self._line(now)

    def close(self) -> None:
        """End the step: clear the bar (if any) and log the final line, once."""
        if not self.enabled or self.closed:
            return
        self.closed = True
        if self.bar:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._line(time.perf_counter())
