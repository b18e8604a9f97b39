"""Long-lived worker subprocesses (``worker_side/jpegai_worker.py``) and the pool that shares a batch.

Each start copies the software's ``cfg/`` (its rate search rewrites it) and sets ``CUDA_VISIBLE_DEVICES``. Images go one
at a time to whichever worker is free (per-image times vary ~10x in search mode). A worker that dies or hangs is
restarted and its image retried once, as is an image the software raised on; one that fails twice is listed failed."""

import contextlib
import logging
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from jpegai_fd.encoders.jpegai.settings import JPEGAISettings
from jpegai_fd.encoders.jpegai.worker_side.jpegai_wire import read_message, write_message
from jpegai_fd.errors import UserError

log = logging.getLogger(__name__)
ATTEMPTS = 2  # the first try and one retry
WORKER_SCRIPT = Path(__file__).resolve().parent / "worker_side" / "jpegai_worker.py"
# glibc keeps freed blocks up to 32 MB instead of returning them: each analysis forward otherwise takes ~12,000 page
# faults (~48 MB of fresh pages). 1.4-1.5x faster analysis, same bytes (benchmarks/bench_jpegai.py).
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "33554432",
    "MALLOC_TRIM_THRESHOLD_": "4294967296",
    "MALLOC_TOP_PAD_": "268435456",
}


class WorkerCrash(Exception):  # the process died, broke the protocol or exceeded its time limit
    pass


class ImageFailed(Exception):  # the software raised on one image (the worker itself is fine)
    pass


# The one-line fix for each kind of start-up ``error`` reply of the worker.
STARTUP_ERRORS = {
    "missing_dependency": "the interpreter '{py}' (encoder.python) lacks the module '{module}' that the JPEG AI "
    "software needs; install it there (see the software's requirements.txt)",
    "extensions": "the C++ extensions of '{root}' do not load in '{py}' ({detail}); rebuild them with make in "
    "src/codec/entropy_coding/cpp_exts/{{mans,direct}}",
    "not_checkout": "'{root}' (encoder.root) is not an importable JPEG AI checkout ({detail}); set encoder.root "
    "to the folder that contains src/ and cfg/",
    "unsupported_version": "the JPEG AI software in '{root}' has an unsupported API ({detail}); use the IS version",
    "fast_path_unsupported": "the JPEG AI software in '{root}' lacks what encoder.fast_path wraps ({detail}); "
    "set encoder.fast_path=false",
}


def startup_error(reply: dict, settings: JPEGAISettings, log: Path) -> UserError:
    """The one-line user error for a worker's start-up ``error`` reply."""
    kind = reply.get("kind")
    if kind in STARTUP_ERRORS:
        fields = {"py": settings.python, "root": settings.root, "module": reply.get("module")}
        return UserError(STARTUP_ERRORS[kind].format(detail=reply.get("detail"), **fields))
    detail = (reply.get("detail") or "").strip().splitlines()
    return UserError(f"the JPEG AI worker failed to start ({detail[-1] if detail else kind}); see '{log}'")


class WorkerProcess:
    """A worker slot: the process, its folder and its log; restartable after a crash."""

    def __init__(self, slot: int, settings: JPEGAISettings, device: str, bpp: int):
        self.slot, self.settings, self.device, self.bpp = slot, settings, device, bpp
        self.proc: subprocess.Popen | None = None
        self.workdir: Path | None = None
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        self.log = settings.log_dir / f"jpegai-{os.getpid()}-worker{slot}.log"
        self.info, self.starts = {}, 0

    def _environment(self) -> dict:
        # PYTHONDONTWRITEBYTECODE: never write __pycache__ into the user's checkout. The user's allocator values win.
        env = {**MALLOC_ENV, **os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        env["CUDA_VISIBLE_DEVICES"] = "" if self.device == "cpu" else self.device
        if self.device == "cpu":
            env["OMP_NUM_THREADS"] = str(self.settings.threads_per_worker)
        return env

    def start(self) -> dict:
        """Start (or restart) the process and wait until its coder is built; returns its ``ready`` info."""
        self.stop()
        s = self.settings
        base = s.work_dir or Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"jpegai-worker{self.slot}-", dir=base))
        shutil.copytree(s.root / "cfg", self.workdir / "cfg")
        with open(self.log, "ab") as log:
            log.write(f"\n==== start {self.starts} of worker {self.slot} in {self.workdir} ====\n".encode())
            log.flush()
            cmd = [s.python, WORKER_SCRIPT, "--root", s.root, "--workdir", self.workdir, "--log", self.log]
            pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": log}
            self.proc = subprocess.Popen(cmd, cwd=self.workdir, bufsize=0, env=self._environment(), **pipes)
        self.starts += 1
        started = time.perf_counter()
        try:
            write_message(self.proc.stdin, {"op": "init", "settings": s.worker_settings(self.bpp)})
            reply, _ = self._receive(s.start_timeout_s)
        except WorkerCrash as exc:
            self.stop()
            raise UserError(f"the JPEG AI worker did not start ({exc}); see '{self.log}'") from exc
        if reply.get("op") != "ready":
            self.stop()
            raise startup_error(reply, s, self.log)
        if s.on_gpu and reply.get("device") == "cpu":
            self.stop()
            raise UserError(
                f"encoder.device={self.device} but the software chose the CPU (no CUDA in "
                f"'{s.python}'?); use encoder.device=cpu or a CUDA-enabled torch"
            )
        self.info = dict(reply, start_seconds=time.perf_counter() - started)
        return self.info

    def stop(self) -> None:
        """Ask the process to quit, kill it if it does not, and remove its folder."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                try:
                    write_message(proc.stdin, {"op": "stop"})
                    proc.wait(timeout=10)
                except (OSError, ValueError, subprocess.TimeoutExpired):
                    proc.kill()
                    proc.wait()
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def _receive(self, timeout: float) -> tuple[dict, dict]:
        proc = self.proc
        if not select.select([proc.stdout], [], [], timeout)[0]:
            proc.kill()
            raise WorkerCrash(f"no answer within {timeout:.0f} s")
        try:
            return read_message(proc.stdout)
        except (EOFError, ValueError) as exc:
            code = proc.wait()
            raise WorkerCrash(f"worker exited with status {code}") from exc

    def encode(self, index: int, image: np.ndarray, bpp: int, key: str, rec: bool = False) -> tuple[dict, dict]:
        """Latents of one (H, W, 3) uint8 image: (meta, {"y/model_y": (C,h,w), ...}), with ``rec`` if asked."""
        if self.proc is None or self.proc.poll() is not None:
            raise WorkerCrash("worker is not running")
        request = {"op": "encode", "index": index, "bpp": int(bpp), "key": key, "rec": rec}
        try:
            write_message(self.proc.stdin, request, {"image": np.ascontiguousarray(image, dtype=np.uint8)})
        except (BrokenPipeError, OSError) as exc:
            raise WorkerCrash(f"worker pipe closed ({exc})") from exc
        reply, arrays = self._receive(self.settings.image_timeout_s)
        if reply.get("op") == "failed":
            detail = (reply.get("detail") or "").strip().splitlines()
            raise ImageFailed(detail[-1] if detail else "unknown error")
        if reply.get("op") != "result" or reply.get("index") != index:
            raise WorkerCrash(f"unexpected reply {reply.get('op')!r}")
        return reply, arrays


class WorkerPool:
    """``settings.num_workers`` workers, devices assigned round-robin; :meth:`start` before :meth:`encode`."""

    def __init__(self, settings: JPEGAISettings, bpp: int):
        devices = settings.device
        self.workers = [WorkerProcess(i, settings, devices[i % len(devices)], bpp) for i in range(settings.num_workers)]
        self.start_seconds = 0.0

    def start(self) -> list[dict]:
        """Start every worker in parallel; on any failure stop them all and re-raise the first error."""
        begin = time.perf_counter()
        with ThreadPoolExecutor(len(self.workers)) as ex:
            errors = [f.exception() for f in [ex.submit(w.start) for w in self.workers]]
        if any(errors):
            self.close()
            raise next(e for e in errors if e)
        self.start_seconds = time.perf_counter() - begin
        return [w.info for w in self.workers]

    def close(self) -> None:
        for w in self.workers:
            w.stop()

    def encode(self, images: np.ndarray, bpp: int, keys: list[str], rec: bool = False) -> "BatchResult":
        """Encode ``images`` (N, H, W, 3) uint8 across the workers (started with :meth:`start`)."""
        batch = BatchResult(images, bpp, keys, rec)
        with ThreadPoolExecutor(len(self.workers)) as ex:
            list(ex.map(batch.drain, self.workers))
        if batch.fatal:
            raise batch.fatal[0]
        # Left over only when every worker died for good.
        batch.failed = {i: "not processed" for i, a in enumerate(batch.arrays) if a is None} | batch.failed
        return batch


class BatchResult:
    """One batch: ``arrays``/``meta`` (None where an image failed), ``failed`` (index -> error), the queue."""

    def __init__(self, images: np.ndarray, bpp: int, keys: list[str], rec: bool = False):
        self.images, self.bpp, self.keys, self.rec, n = images, bpp, keys, rec, len(images)
        self.arrays: list = [None] * n
        self.meta: list = [None] * n
        self.failed: dict[int, str] = {}
        self.todo, self.attempts, self.fatal = deque(range(n)), [0] * n, []

    def drain(self, worker: WorkerProcess) -> None:
        """Encode images with ``worker`` until none is left or a worker cannot restart."""
        while not self.fatal:
            try:
                i = self.todo.popleft()  # deque: atomic, shared by the worker threads
            except IndexError:
                return
            self.attempts[i] += 1  # an index is held by one thread at a time: no lock needed
            try:
                meta, arrays = worker.encode(i, self.images[i], self.bpp, self.keys[i], self.rec)
            except (WorkerCrash, ImageFailed) as exc:  # requeue once, restart a crashed worker
                crashed = isinstance(exc, WorkerCrash)
                what = (worker.slot, self.keys[i], self.attempts[i], "crashed the worker" if crashed else "failed")
                log.warning("JPEG AI worker %d: image %s attempt %d %s: %s (log: %s)", *what, exc, worker.log)
                if self.attempts[i] < ATTEMPTS:
                    self.todo.append(i)
                else:
                    self.failed[i] = str(exc)
                if crashed:
                    try:
                        worker.start()
                    except BaseException as start_exc:  # noqa: BLE001  (a worker that cannot restart ends the batch)
                        self.fatal.append(start_exc)
                        return
                continue
            self.arrays[i], self.meta[i] = arrays, meta
