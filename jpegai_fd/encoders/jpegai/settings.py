"""The ``encoder=jpegai`` settings: ``encoder.*`` keys checked (a UserError naming the key) before any work.

Checked by hand, not by pydantic: Hydra builds the encoder, so no caller turns a ValidationError into
the one-line message.
"""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from jpegai_fd.errors import UserError

PROFILES = ("simple", "base", "high")  # cfg/profiles/<profile>.json
TOOLS = ("on", "off")  # cfg/tools_<tools>.json
RATE_MODES = ("search", "table")
TABLE_RATES = (12, 25, 50, 75, 100)  # the software's default target_bpps (cfg/pipeline.json)
CHROMA = ("444", "420")


def _invalid(key: str, value, words: str) -> UserError:
    return UserError(f"invalid value for 'encoder.{key}': {value!r}; {words}")


def _choice(key: str, value, allowed) -> str:
    text = {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else str(value)
    if text not in allowed:
        raise _invalid(key, value, f"allowed values: {', '.join(allowed)}")
    return text


def _seconds(key: str, t) -> float:
    if not isinstance(t, (int, float)) or isinstance(t, bool) or t <= 0:
        raise _invalid(key, t, "use a positive number of seconds")
    return float(t)


def _devices(value) -> tuple[str, ...]:
    """``cpu``, one GPU index or a list of them -> ("cpu",) or ("0", "1", ...)."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if items == ["cpu"]:
        return ("cpu",)
    if not items or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in items):
        raise _invalid("device", value, "use cpu, a GPU index (0) or a list ([0,1])")
    return tuple(str(i) for i in items)


def _path(value) -> Path | None:
    return Path(value).expanduser().resolve() if value else None


@dataclass(frozen=True)
class JPEGAISettings:
    """The keys of ``conf/encoder/jpegai.yaml`` (the one place their defaults are written), checked and
    normalised on construction: paths absolute, ``device`` a tuple ("cpu",) or ("0", "1", ...)."""

    root: Path | None  # None: not configured (refused before any work by the installation check)
    models_dir: Path | None  # null = <root>/models
    python: str | None  # null = this interpreter
    profile: str
    tools: str
    extra_cfg: tuple[str, ...]
    overrides: tuple[str, ...]
    rate_mode: str
    chroma: str
    device: tuple[str, ...]
    num_workers: int | None  # null = one per core on CPU, one per listed GPU
    threads_per_worker: int  # torch threads: latents depend on it (at ~1e-7), never on num_workers
    allow_missing_weights: bool
    keep_extras: bool
    fast_path: bool
    image_timeout_s: float
    start_timeout_s: float
    log_dir: Path
    work_dir: Path | None

    def __post_init__(self):
        def put(key, value):
            object.__setattr__(self, key, value)

        for key in ("extra_cfg", "overrides"):
            if not isinstance(getattr(self, key), (list, tuple)):
                raise _invalid(key, getattr(self, key), "it must be a list")
            put(key, tuple(str(c) for c in getattr(self, key)))
        for key in ("image_timeout_s", "start_timeout_s"):
            put(key, _seconds(key, getattr(self, key)))
        put("device", _devices(self.device))
        if self.num_workers is None:
            put("num_workers", (os.cpu_count() or 1) if self.device == ("cpu",) else len(self.device))
        root = _path(self.root)
        put("root", root)
        put("models_dir", _path(self.models_dir) or (root and root / "models"))
        put("python", str(self.python or sys.executable))
        for key, allowed in (("profile", PROFILES), ("tools", TOOLS), ("rate_mode", RATE_MODES), ("chroma", CHROMA)):
            put(key, _choice(key, getattr(self, key), allowed))
        for key in ("num_workers", "threads_per_worker"):
            if not isinstance(n := getattr(self, key), int) or isinstance(n, bool) or n < 1:
                raise _invalid(key, n, "it must be an integer >= 1")
        if not isinstance(self.fast_path, bool):
            raise _invalid("fast_path", self.fast_path, "use true or false")
        put("allow_missing_weights", bool(self.allow_missing_weights))
        put("keep_extras", bool(self.keep_extras))
        put("log_dir", _path(self.log_dir))
        put("work_dir", _path(self.work_dir))

    @property
    def cfg_files(self) -> list[str]:
        """The ``--cfg`` chain, relative to the root (the worker points it at its own cfg copy)."""
        return [f"cfg/tools_{self.tools}.json", f"cfg/profiles/{self.profile}.json", *self.extra_cfg]

    @property
    def on_gpu(self) -> bool:
        return self.device != ("cpu",)

    def check_rate(self, bpp: int) -> None:
        if self.rate_mode == "table" and bpp not in TABLE_RATES:
            raise UserError(
                f"bpp={bpp} is not available with encoder.rate_mode=table (rates: "
                f"{', '.join(map(str, TABLE_RATES))}); use one of them or encoder.rate_mode=search"
            )

    def worker_settings(self, bpp: int) -> dict:
        """The settings of a worker's ``init`` request (JSON)."""
        return {
            "cfg": self.cfg_files,
            "models_dir": str(self.models_dir),
            "rate_mode": self.rate_mode,
            "table_rates": list(TABLE_RATES),
            "chroma": self.chroma,
            "overrides": list(self.overrides),
            "threads": None if self.on_gpu else self.threads_per_worker,
            "keep_extras": self.keep_extras,
            "fast_path": self.fast_path,
            "bpp": int(bpp),
            "seed": 0,
        }
