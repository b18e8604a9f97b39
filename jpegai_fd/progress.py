"""Progress of a long step with tqdm: a bar on a terminal, periodic log lines in logs and pipes."""

import io
import logging
import os
import sys
import threading

from tqdm import tqdm

# tqdm's default lock holds a multiprocessing semaphore, which a process ended by Ctrl-C or SIGTERM leaves
# for the resource tracker to warn about ("leaked semaphore objects"); each process draws its own bars.
tqdm.set_lock(threading.RLock())

LINE = "{desc}: {n_fmt}/{total_fmt} {unit} ({rate_fmt}, elapsed {elapsed_s:.1f}s, ETA {remaining})"


class _LogLines(io.TextIOBase):
    """A file for tqdm that logs each new count it draws: tqdm itself only redraws one line in place."""

    def __init__(self, log: logging.Logger):
        self.log, self.last = log, ""

    def write(self, text: str) -> None:
        if (count := text.strip().rpartition(" (")[0]) and count != self.last:  # close() draws the last count once more
            self.log.info(text.strip())
            self.last = count


def progress(desc: str, total: int, unit: str, log: logging.Logger, every_s: float = 5.0) -> tqdm:
    """A tqdm over ``total``: a bar on a terminal, else ``log`` lines at most every ``every_s`` (silent below INFO);
    ``JPEGAI_FD_PROGRESS=lines`` asks for lines on a terminal too."""
    bar = dict(total=total, desc=desc, unit=unit, disable=not log.isEnabledFor(logging.INFO) or total <= 0)
    if not sys.stderr.isatty() or os.environ.get("JPEGAI_FD_PROGRESS") == "lines" or os.environ.get("TERM") == "dumb":
        bar.update(file=_LogLines(log), bar_format=LINE, mininterval=every_s, miniters=1)
    return tqdm(**bar)
