"""The ``encoder=jpegai`` settings: read from ``cfg.encoder``, checked, turned into the software's options.

``JPEGAISettings.from_config(cfg.encoder)`` raises :class:`UserError` naming the key for any value
that cannot work, before anything is started. The software's rate and chroma options are decided
here so that the worker only passes them on.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from jpegai_fd.errors import UserError

PROFILES = ("simple", "base", "high")           # cfg/profiles/<profile>.json
TOOLS = ("on", "off")                           # cfg/tools_<tools>.json
RATE_MODES = ("search", "table")
TABLE_RATES = (12, 25, 50, 75, 100)             # the software's default target_bpps (cfg/pipeline.json)
CHROMA = ("444", "420")


def check_table_rate(rate_mode: str | None, bpp: int) -> None:
    """Raise UserError if ``bpp`` cannot be coded in ``rate_mode`` (table mode knows only TABLE_RATES)."""
    if rate_mode == "table" and bpp not in TABLE_RATES:
        raise UserError(f"bpp={bpp} is not available with encoder.rate_mode=table (rates: "
                        f"{', '.join(map(str, TABLE_RATES))}); use one of them or encoder.rate_mode=search")


def _choice(key: str, value, allowed) -> str:
    text = {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else str(value)
    if text not in allowed:
        raise UserError(f"invalid value for 'encoder.{key}': {value!r}; allowed values: {', '.join(allowed)}")
    return text


def _positive_int(key: str, value, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UserError(f"invalid value for 'encoder.{key}': {value!r}; it must be an integer >= 1")
    return value


def _flag(key: str, value) -> bool:
    if not isinstance(value, bool):
        raise UserError(f"invalid value for 'encoder.{key}': {value!r}; use true or false")
    return value


def _devices(value) -> tuple[str, ...]:
    """``cpu``, one GPU index or a list of them -> ("cpu",) or ("0", "1", ...)."""
    items = list(value) if isinstance(value, (list, tuple)) or OmegaConf.is_list(value) else [value]
    if items == ["cpu"]:
        return ("cpu",)
    if not items or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in items):
        raise UserError(f"invalid value for 'encoder.device': {value!r}; use cpu, a GPU index (0) or a list ([0,1])")
    return tuple(str(i) for i in items)


def _num_workers(value, devices: tuple[str, ...]) -> int:
    """null: one worker per core on CPU, one per listed GPU."""
    if value is None:
        return (os.cpu_count() or 1) if devices == ("cpu",) else len(devices)
    return _positive_int("num_workers", value)


@dataclass(frozen=True)
class JPEGAISettings:
    """Everything the adapter needs to know; paths are absolute."""

    root: Path
    models_dir: Path
    python: str
    profile: str = "high"
    tools: str = "on"
    extra_cfg: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()
    rate_mode: str = "search"
    chroma: str = "444"
    devices: tuple[str, ...] = ("cpu",)
    num_workers: int = 1
    threads_per_worker: int = 1
    allow_missing_weights: bool = False
    keep_extras: bool = False
    fast_path: bool = True
    image_timeout_s: float = 1800.0
    start_timeout_s: float = 600.0
    log_dir: Path = Path("outputs/jpegai_logs")
    work_dir: Path | None = None

    @classmethod
    def from_config(cls, enc: DictConfig) -> "JPEGAISettings":
        root = enc.get("root")
        if not root:
            raise UserError("'encoder.root' is not set; point it at your JPEG AI reference-software checkout "
                            "(encoder.root=/path/to/jpeg-ai-reference-software or export JPEGAI_ROOT)")
        root = Path(root).expanduser().resolve()
        models = Path(enc.get("models_dir") or root / "models").expanduser().resolve()
        python = str(enc.get("python") or sys.executable)
        for key in ("extra_cfg", "overrides"):
            value = enc.get(key) or []
            if not (OmegaConf.is_list(value) or isinstance(value, (list, tuple))):
                raise UserError(f"invalid value for 'encoder.{key}': {value!r}; it must be a list")
        for timeout_key in ("image_timeout_s", "start_timeout_s"):
            t = enc.get(timeout_key, 1)
            if not isinstance(t, (int, float)) or isinstance(t, bool) or t <= 0:
                raise UserError(f"invalid value for 'encoder.{timeout_key}': {t!r}; use a positive number of seconds")
        work_dir = enc.get("work_dir")
        devices = _devices(enc.get("device", "cpu"))
        return cls(
            root=root, models_dir=models, python=python,
            profile=_choice("profile", enc.get("profile", "high"), PROFILES),
            tools=_choice("tools", enc.get("tools", "on"), TOOLS),
            extra_cfg=tuple(str(c) for c in enc.get("extra_cfg") or []),
            overrides=tuple(str(o) for o in enc.get("overrides") or []),
            rate_mode=_choice("rate_mode", enc.get("rate_mode", "search"), RATE_MODES),
            chroma=_choice("chroma", enc.get("chroma", "444"), CHROMA),
            devices=devices,
            num_workers=_num_workers(enc.get("num_workers"), devices),
            threads_per_worker=_positive_int("threads_per_worker", enc.get("threads_per_worker", 1)),
            allow_missing_weights=bool(enc.get("allow_missing_weights", False)),
            keep_extras=bool(enc.get("keep_extras", False)),
            fast_path=_flag("fast_path", enc.get("fast_path", True)),
            image_timeout_s=float(enc.get("image_timeout_s", 1800)),
            start_timeout_s=float(enc.get("start_timeout_s", 600)),
            log_dir=Path(enc.get("log_dir") or "outputs/jpegai_logs").expanduser().resolve(),
            work_dir=Path(work_dir).expanduser().resolve() if work_dir else None,
        )

    @property
    def cfg_files(self) -> list[str]:
        """The ``--cfg`` chain, relative to the root (the worker points them at its own cfg copy)."""
        return [f"cfg/tools_{self.tools}.json", f"cfg/profiles/{self.profile}.json", *self.extra_cfg]

    @property
    def on_gpu(self) -> bool:
        return self.devices != ("cpu",)

    @property
    def threads(self) -> int:
        """Torch threads per worker. Latents depend (at ~1e-7) on it, never on the number of workers."""
        return self.threads_per_worker

    def check_rate(self, bpp: int) -> None:
        """Raise UserError if ``bpp`` cannot be coded in this rate mode."""
        check_table_rate(self.rate_mode, bpp)

    def worker_settings(self, bpp: int) -> dict:
        """The ``init`` request a worker gets (JSON)."""
        return {"cfg": self.cfg_files, "models_dir": str(self.models_dir), "rate_mode": self.rate_mode,
                "table_rates": list(TABLE_RATES), "chroma": self.chroma, "overrides": list(self.overrides),
                "threads": None if self.on_gpu else self.threads, "keep_extras": self.keep_extras,
                "fast_path": self.fast_path, "bpp": int(bpp), "seed": 0}
