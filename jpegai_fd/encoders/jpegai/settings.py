"""The ``encoder=jpegai`` settings: ``encoder.*`` keys checked (a UserError naming the key) before any work."""

import os
import sys
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, ValidationError, model_validator

from jpegai_fd.errors import UserError

TABLE_RATES = (12, 25, 50, 75, 100)  # the software's default target_bpps (cfg/pipeline.json)


def _devices(value) -> tuple[str, ...]:
    """``cpu``, one GPU index or a list of them -> ("cpu",) or ("0", "1", ...)."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if items == ["cpu"]:
        return ("cpu",)
    if not items or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in items):
        raise ValueError("use cpu, a GPU index (0) or a list ([0,1])")
    return tuple(str(i) for i in items)


Resolved = Annotated[Path | None, BeforeValidator(lambda v: Path(v).expanduser().resolve() if v else None)]


def _choice(*allowed: str):
    """One of ``allowed``, written as YAML may read it (on: True, 444: an int)."""
    return Annotated[Literal[allowed], BeforeValidator(lambda v: {True: "on", False: "off"}.get(v, str(v)))]


Count = Annotated[int, Field(strict=True, ge=1)]
Seconds = Annotated[float, Field(strict=True, gt=0)]


class JPEGAISettings(BaseModel):
    """The ``conf/encoder/jpegai.yaml`` keys, checked: paths absolute, ``device`` ("cpu",) or ("0", "1", ...)."""

    model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True)

    root: Resolved  # None: not configured (refused before any work by the installation check)
    models_dir: Resolved  # null = <root>/models
    python: Annotated[str, BeforeValidator(lambda v: str(v or sys.executable))]  # null = this interpreter
    profile: _choice("simple", "base", "high")  # cfg/profiles/<profile>.json
    tools: _choice("on", "off")  # cfg/tools_<tools>.json
    extra_cfg: tuple[str, ...]
    overrides: tuple[str, ...]
    rate_mode: _choice("search", "table")
    chroma: _choice("444", "420")
    device: Annotated[tuple[str, ...], BeforeValidator(_devices)]
    num_workers: Count | None  # null = one per core on CPU, one per listed GPU
    threads_per_worker: Count  # torch threads: latents depend on it (at ~1e-7), never on num_workers
    allow_missing_weights: bool
    keep_extras: bool
    fast_path: StrictBool
    image_timeout_s: Seconds
    start_timeout_s: Seconds
    log_dir: Resolved
    work_dir: Resolved

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, keys: dict) -> dict:
        return {**keys, "models_dir": keys.get("models_dir") or (keys.get("root") and Path(keys["root"]) / "models")}

    @model_validator(mode="after")
    def _workers(self) -> "JPEGAISettings":
        if self.num_workers is None:
            self.__dict__["num_workers"] = (os.cpu_count() or 1) if not self.on_gpu else len(self.device)
        return self

    @classmethod
    def checked(cls, **keys) -> "JPEGAISettings":
        """The settings from the ``encoder.*`` keys; a bad value is a one-line UserError naming its key."""
        try:
            return cls(**keys)
        except ValidationError as exc:
            err = exc.errors()[0]
            key, words = ".".join(map(str, err["loc"][:1])), err["msg"].removeprefix("Value error, ")
            raise UserError(f"invalid value for 'encoder.{key}': {err['input']!r}; {words}") from None

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
        keys = dict(cfg=self.cfg_files, models_dir=str(self.models_dir), rate_mode=self.rate_mode)
        keys |= dict(table_rates=list(TABLE_RATES), chroma=self.chroma, overrides=list(self.overrides))
        keys |= dict(threads=None if self.on_gpu else self.threads_per_worker, keep_extras=self.keep_extras)
        return keys | dict(fast_path=self.fast_path, bpp=int(bpp), seed=0)
