"""A pool of long-lived workers that share a batch of images, with one retry per failed image.

Images are handed out one at a time to whichever worker is free (per-image times vary ~10x in
search mode). A worker that dies or hangs is restarted and its image retried once; an image that
fails twice is listed as failed and the batch goes on. Model loading happens once per worker start,
never per image.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from jpegai_fd.encoders.jpegai.settings import JPEGAISettings
from jpegai_fd.encoders.jpegai.worker import ImageFailed, WorkerCrash, WorkerProcess

log = logging.getLogger(__name__)
ATTEMPTS = 2  # the first try and one retry


@dataclass
class BatchResult:
    """Per-image outputs of one batch: ``arrays[i]`` and ``meta[i]`` (None where image i failed)."""

    arrays: list
    meta: list
    failed: dict = field(default_factory=dict)  # index -> last error


class WorkerPool:
    """``settings.num_workers`` workers, devices assigned round-robin; :meth:`start` before :meth:`encode`."""

    def __init__(self, settings: JPEGAISettings, bpp: int):
        self.settings = settings
        self.workers = [
            WorkerProcess(i, settings, settings.devices[i % len(settings.devices)], bpp)
            for i in range(settings.num_workers)
        ]
        self.start_seconds = 0.0

    def start(self) -> list[dict]:
        """Start every worker in parallel; on any failure stop them all and re-raise the first error."""
        begin = time.perf_counter()
        with ThreadPoolExecutor(len(self.workers)) as ex:
            futures = [ex.submit(w.start) for w in self.workers]
            errors = [f.exception() for f in futures]
        if any(errors):
            self.close()
            raise next(e for e in errors if e)
        self.start_seconds = time.perf_counter() - begin
        return [w.info for w in self.workers]

    def close(self) -> None:
        for w in self.workers:
            w.stop()

    def encode(self, images: np.ndarray, bpp: int, keys: list[str]) -> BatchResult:
        """Encode ``images`` (N, H, W, 3) uint8 across the workers (started with :meth:`start`)."""
        n = len(images)
        result = BatchResult([None] * n, [None] * n)
        todo: queue.Queue = queue.Queue()
        for i in range(n):
            todo.put(i)
        attempts = [0] * n
        lock = threading.Lock()
        fatal: list[BaseException] = []

        def run(worker: WorkerProcess) -> None:
            while not fatal:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                attempts[i] += 1
                try:
                    meta, arrays = worker.encode(i, images[i], bpp, keys[i])
                except (WorkerCrash, ImageFailed) as exc:
                    crashed = isinstance(exc, WorkerCrash)
                    log.warning(
                        "JPEG AI worker %d: image %s attempt %d %s: %s (log: %s)",
                        worker.slot,
                        keys[i],
                        attempts[i],
                        "crashed the worker" if crashed else "failed",
                        exc,
                        worker.log,
                    )
                    with lock:
                        if attempts[i] < ATTEMPTS:
                            todo.put(i)
                        else:
                            result.failed[i] = str(exc)
                    if crashed:
                        try:
                            worker.start()
                        except BaseException as start_exc:  # noqa: BLE001  (a worker that cannot restart ends the batch)
                            fatal.append(start_exc)
                            return
                    continue
                result.arrays[i], result.meta[i] = arrays, meta

        with ThreadPoolExecutor(len(self.workers)) as ex:
            list(ex.map(run, self.workers))
        if fatal:
            raise fatal[0]
        leftover = [i for i in range(n) if result.arrays[i] is None and i not in result.failed]
        for i in leftover:  # only possible when every worker died for good
            result.failed[i] = "not processed"
        return result
