"""One long-lived worker subprocess, seen from the adapter.

``start()`` copies the software's ``cfg/`` (its rate search rewrites it) into the worker's own
folder, starts ``worker_side/jpegai_worker.py`` with ``encoder.python``, the GPUs in
``CUDA_VISIBLE_DEVICES`` (read once, at init) and a log file, and waits for ``ready``. ``encode()``
sends one image and returns its latents; a dead or hung worker raises :class:`WorkerCrash`, an
exception inside the software :class:`ImageFailed`.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from jpegai_fd.encoders.jpegai.settings import JPEGAISettings
from jpegai_fd.encoders.jpegai.worker_side.jpegai_wire import read_message, write_message
from jpegai_fd.errors import UserError

WORKER_SCRIPT = Path(__file__).resolve().parent / "worker_side" / "jpegai_worker.py"


class WorkerCrash(Exception):
    """The worker process died, broke the protocol or exceeded its time limit."""


class ImageFailed(Exception):
    """The software raised an exception on one image (the worker itself is fine)."""


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
        self.info: dict = {}
        self.starts = 0

    def _environment(self) -> dict:
        env = dict(os.environ)
        env["CUDA_VISIBLE_DEVICES"] = "" if self.device == "cpu" else self.device
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # never write __pycache__ into the user's checkout
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
            self.proc = subprocess.Popen(
                [s.python, WORKER_SCRIPT, "--root", s.root, "--workdir", self.workdir, "--log", self.log],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=self.workdir,
                bufsize=0,
                env=self._environment(),
            )
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
                try:
                    stream.close()
                except OSError:
                    pass
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _receive(self, timeout: float) -> tuple[dict, dict]:
        proc = self.proc
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        if not ready:
            proc.kill()
            raise WorkerCrash(f"no answer within {timeout:.0f} s")
        try:
            return read_message(proc.stdout)
        except (EOFError, ValueError) as exc:
            code = proc.wait()
            raise WorkerCrash(f"worker exited with status {code}") from exc

    def encode(self, index: int, image: np.ndarray, bpp: int, key: str) -> tuple[dict, dict]:
        """Latents of one (H, W, 3) uint8 image: (meta, {"y/model_y": (C,h,w), ...})."""
        if not self.alive:
            raise WorkerCrash("worker is not running")
        try:
            write_message(
                self.proc.stdin,
                {"op": "encode", "index": index, "bpp": int(bpp), "key": key},
                {"image": np.ascontiguousarray(image, dtype=np.uint8)},
            )
        except (BrokenPipeError, OSError) as exc:
            raise WorkerCrash(f"worker pipe closed ({exc})") from exc
        reply, arrays = self._receive(self.settings.image_timeout_s)
        if reply.get("op") == "failed":
            detail = (reply.get("detail") or "").strip().splitlines()
            raise ImageFailed(detail[-1] if detail else "unknown error")
        if reply.get("op") != "result" or reply.get("index") != index:
            raise WorkerCrash(f"unexpected reply {reply.get('op')!r}")
        return reply, arrays
