"""The ``encoder=jpegai`` settings: ``encoder.*`` keys checked (a UserError naming the key) before any work.

Checked by hand, not by pydantic: Hydra builds the encoder, so no caller turns a ValidationError into
the one-line message.
"""

from __future__ import annotations

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


def _choice(key: str, value, allowed) -> str:
    text = {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else str(value)
    if text not in allowed:
        raise UserError(f"invalid value for 'encoder.{key}': {value!r}; allowed values: {', '.join(allowed)}")
    return text


def _positive_int(key: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UserError(f"invalid value for 'encoder.{key}': {value!r}; it must be an integer >= 1")
    return value


def _flag(key: str, value) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"invalid value for 'encoder.{key}': {value!r}; use true or false")
    return value


def _devices(value) -> tuple[str, ...]:
    """``cpu``, one GPU index or a list of them -> ("cpu",) or ("0", "1", ...)."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if items == ["cpu"]:
        return ("cpu",)
    if not items or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in items):
        raise UserError(f"invalid value for 'encoder.device': {value!r}; use cpu, a GPU index (0) or a list ([0,1])")
    return tuple(str(i) for i in items)


@dataclass(frozen=True)
class JPEGAISettings:
    """Everything the adapter needs; paths absolute. :meth:`from_keys` takes ``conf/encoder/jpegai.yaml``'s keys."""

    root: Path | None  # None: not configured (refused before any work by JPEGAIEncoder.prepare)
    models_dir: Path | None
    python: str
    profile: str
    tools: str
    extra_cfg: tuple[str, ...]
    overrides: tuple[str, ...]
    rate_mode: str
    chroma: str
    devices: tuple[str, ...]
    num_workers: int
    threads_per_worker: int  # torch threads: latents depend on it (at ~1e-7), never on num_workers
    allow_missing_weights: bool
    keep_extras: bool
    fast_path: bool
    image_timeout_s: float
    start_timeout_s: float
    log_dir: Path
    work_dir: Path | None

    @classmethod
    def from_keys(
        cls,
        *,
        root: str | None,
        models_dir: str | None,
        python: str | None,
        profile: str,
        tools: str | bool,
        extra_cfg: list,
        overrides: list,
        rate_mode: str,
        chroma: str,
        device,
        num_workers: int | None,
        threads_per_worker: int,
        allow_missing_weights: bool,
        keep_extras: bool,
        fast_path: bool,
        image_timeout_s: float,
        start_timeout_s: float,
        log_dir: str,
        work_dir: str | None,
    ) -> "JPEGAISettings":
        # An unset root is refused by JPEGAIEncoder.prepare(): the values can be checked without it.
        root_path = Path(root).expanduser().resolve() if root else None
        for key, value in (("extra_cfg", extra_cfg), ("overrides", overrides)):
            if not isinstance(value, (list, tuple)):
                raise UserError(f"invalid value for 'encoder.{key}': {value!r}; it must be a list")
        for key, t in (("image_timeout_s", image_timeout_s), ("start_timeout_s", start_timeout_s)):
            if not isinstance(t, (int, float)) or isinstance(t, bool) or t <= 0:
                raise UserError(f"invalid value for 'encoder.{key}': {t!r}; use a positive number of seconds")
        devices = _devices(device)
        if num_workers is None:  # one worker per core on CPU, one per listed GPU
            num_workers = (os.cpu_count() or 1) if devices == ("cpu",) else len(devices)
        return cls(
            root=root_path,
            models_dir=Path(models_dir).expanduser().resolve() if models_dir else root_path and root_path / "models",
            python=str(python or sys.executable),
            profile=_choice("profile", profile, PROFILES),
            tools=_choice("tools", tools, TOOLS),
            extra_cfg=tuple(str(c) for c in extra_cfg),
            overrides=tuple(str(o) for o in overrides),
            rate_mode=_choice("rate_mode", rate_mode, RATE_MODES),
            chroma=_choice("chroma", chroma, CHROMA),
            devices=devices,
            num_workers=_positive_int("num_workers", num_workers),
            threads_per_worker=_positive_int("threads_per_worker", threads_per_worker),
            allow_missing_weights=bool(allow_missing_weights),
            keep_extras=bool(keep_extras),
            fast_path=_flag("fast_path", fast_path),
            image_timeout_s=float(image_timeout_s),
            start_timeout_s=float(start_timeout_s),
            log_dir=Path(log_dir).expanduser().resolve(),
            work_dir=Path(work_dir).expanduser().resolve() if work_dir else None,
        )

    @property
    def cfg_files(self) -> list[str]:
        """The ``--cfg`` chain, relative to the root (the worker points it at its own cfg copy)."""
        return [f"cfg/tools_{self.tools}.json", f"cfg/profiles/{self.profile}.json", *self.extra_cfg]

    @property
    def on_gpu(self) -> bool:
        return self.devices != ("cpu",)

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
