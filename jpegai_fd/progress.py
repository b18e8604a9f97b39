"""Progress lines with rate and ETA, written to the job's log at most every few seconds."""

from __future__ import annotations

import logging
import time


class Progress:
    """Counts finished units of ``total`` and logs ``label: done/total unit (rate/s, ETA)``."""

    def __init__(self, label: str, total: int, unit: str, logger: logging.Logger, every_s: float = 5.0):
        self.label, self.total, self.unit, self.log, self.every_s = label, total, unit, logger, every_s
        self.done = 0
        self.start = self._last = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self._last >= self.every_s or self.done >= self.total:
            self._last = now
            elapsed = max(now - self.start, 1e-9)
            rate = self.done / elapsed
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            self.log.info("%s: %d/%d %s (%.1f %s/s, elapsed %.1fs, ETA %.1fs)", self.label, self.done,
                          self.total, self.unit, rate, self.unit, elapsed, eta)
