"""Placeholder until the tuning helper's TuningSettings lands (replaced at merge)."""

from __future__ import annotations

from typing import Annotated, Optional

import pydantic
from pydantic.dataclasses import dataclass


@dataclass(frozen=True)
class PrunerSettings:
    n_startup_trials: Annotated[int, pydantic.Field(ge=0)] = 2
    n_warmup_steps: Annotated[int, pydantic.Field(ge=0)] = 0


@dataclass(frozen=True)
class TuningSettings:
    n_trials: Annotated[int, pydantic.Field(ge=0)] = 5
    timeout: Optional[Annotated[float, pydantic.Field(gt=0)]] = None  # noqa: UP045
    cv_folds: Annotated[int, pydantic.Field(ge=2)] = 3
    scoring: Annotated[str, pydantic.Field(min_length=1)] = "accuracy"
    storage: Optional[str] = None  # noqa: UP045
    heartbeat_s: Annotated[int, pydantic.Field(ge=1)] = 60
    study_name: Optional[str] = None  # noqa: UP045
    pruner: PrunerSettings = PrunerSettings()

    def get(self, key, default=None):
        return getattr(self, key, default)
