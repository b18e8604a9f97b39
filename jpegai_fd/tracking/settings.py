"""What tracking needs to know, as plain values: the ``tracking.*`` keys and where the job runs."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Optional

import pydantic
from pydantic.dataclasses import dataclass as checked

# MLflow 3 stores: a server, or a database through SQLAlchemy (the file store './mlruns' only raises).
TRACKING_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql")
SLURM_JOB = "slurm.job_id"  # tag of a run made in a SLURM job: a requeued job finds its run again by it
PARAM_VALUE_LIMIT = 6000  # MLflow rejects longer parameter values


def scheme_rule(uri: str, schemes: tuple[str, ...], example: str) -> str:
    """``uri`` if it starts with one of ``schemes`` (``+driver`` allowed) and ``://``; else ValueError."""
    scheme, sep, _ = uri.partition("://")
    if not sep or scheme.partition("+")[0] not in schemes:
        raise ValueError(f"allowed schemes: {', '.join(s + '://' for s in schemes)} (e.g. {example})")
    return uri


@checked(frozen=True)
class TrackingSettings:
    """The ``tracking.*`` keys (conf/config.yaml)."""

    uri: str
    experiment: Annotated[str, pydantic.Field(min_length=1)]
    run_name: Optional[str] = None  # noqa: UP045  (pydantic reads both spellings; kept like the schema's)
    sweep_name: Optional[str] = None  # noqa: UP045
    resume: bool = False
    retry_s: Annotated[float, pydantic.Field(ge=0)] = 120.0

    @pydantic.field_validator("uri")
    @classmethod
    def _scheme(cls, uri: str) -> str:
        return scheme_rule(uri, TRACKING_SCHEMES, "http://127.0.0.1:5000 or sqlite:///mlflow.db")


@dataclass(frozen=True)
class JobPlace:
    """Where a job runs: output folder; multirun sweep folder, number, overrides; SLURM job id, restarts (else None)."""

    output_dir: Path | None = None
    sweep_dir: Path | None = None
    num: int | None = None
    overrides: tuple[str, ...] = ()
    override_dirname: str | None = None
    slurm_job: str | None = None
    slurm_restarts: int = 0


@dataclass(frozen=True)
class JobRecord:
    """What identifies a job's run: grid ``factors`` (tags), ``config_hash`` (resolved config without
    ``tracking``: resume's key), ``params`` (dotted keys -> text), ``config_yaml``."""

    factors: dict[str, str] = field(default_factory=dict)
    config_hash: str = ""
    params: dict[str, str] = field(default_factory=dict)
    config_yaml: str = ""
