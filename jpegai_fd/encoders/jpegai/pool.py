"""A pool of long-lived workers sharing a batch of images, one retry per failed image.

Images go one at a time to whichever worker is free (per-image times vary ~10x in search mode). A
worker that dies or hangs is restarted and its image retried once; an image that fails twice is
listed as failed and the batch goes on. Models load once per worker start, never per image.
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
        batch = _Batch(images, bpp, keys)
        with ThreadPoolExecutor(len(self.workers)) as ex:
            list(ex.map(batch.drain, self.workers))
        if batch.fatal:
            raise batch.fatal[0]
        result = batch.result
        for i in range(len(images)):  # left over only when every worker died for good
            if result.arrays[i] is None and i not in result.failed:
                result.failed[i] = "not processed"
        return result


class _Batch:
    """The shared state of one batch: a queue of image indices that every worker thread drains."""

    def __init__(self, images: np.ndarray, bpp: int, keys: list[str]):
        self.images, self.bpp, self.keys = images, bpp, keys
        self.result = BatchResult([None] * len(images), [None] * len(images))
        self.todo: queue.Queue = queue.Queue()
        for i in range(len(images)):
            self.todo.put(i)
        self.attempts = [0] * len(images)
        self.lock = threading.Lock()
        self.fatal: list[BaseException] = []

    def drain(self, worker: WorkerProcess) -> None:
        """Encode images with ``worker`` until none is left or a worker cannot restart."""
        while not self.fatal:
            try:
                i = self.todo.get_nowait()
            except queue.Empty:
                return
            self.attempts[i] += 1
            try:
                meta, arrays = worker.encode(i, self.images[i], self.bpp, self.keys[i])
            except (WorkerCrash, ImageFailed) as exc:
                if not self._failed(worker, i, exc):
                    return
                continue
            self.result.arrays[i], self.result.meta[i] = arrays, meta

    def _failed(self, worker: WorkerProcess, i: int, exc: WorkerCrash | ImageFailed) -> bool:
        """Requeue image ``i`` once, restart a crashed worker; False when it cannot restart."""
        crashed = isinstance(exc, WorkerCrash)
        log.warning(
            "JPEG AI worker %d: image %s attempt %d %s: %s (log: %s)",
            worker.slot,
            self.keys[i],
            self.attempts[i],
            "crashed the worker" if crashed else "failed",
            exc,
            worker.log,
        )
        with self.lock:
            if self.attempts[i] < ATTEMPTS:
                self.todo.put(i)
            else:
                self.result.failed[i] = str(exc)
        if crashed:
            try:
                worker.start()
            except BaseException as start_exc:  # noqa: BLE001  (a worker that cannot restart ends the batch)
                self.fatal.append(start_exc)
                return False
        return True
