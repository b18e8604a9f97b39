"""The ``tuning`` keys as frozen, checked plain values (light to import: pydantic only)."""

import difflib
from typing import Annotated

import pydantic
from pydantic.dataclasses import dataclass

STORAGE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "journal")


@dataclass(frozen=True)
class PrunerSettings:
    """MedianPruner after each CV fold: ``n_startup_trials`` run every fold; none pruned before ``n_warmup_steps``."""

    n_startup_trials: Annotated[int, pydantic.Field(ge=0)]
    n_warmup_steps: Annotated[int, pydantic.Field(ge=0)]


@dataclass(frozen=True)
class TuningSettings:
    """The ``tuning.*`` keys (conf/config.yaml); ``storage``: None (in memory), an RDB URL or ``journal://PATH``."""

    n_trials: Annotated[int, pydantic.Field(ge=0)]
    timeout: Annotated[float, pydantic.Field(gt=0)] | None
    cv_folds: Annotated[int, pydantic.Field(ge=2)]
    scoring: str
    storage: str | None
    heartbeat_s: Annotated[int, pydantic.Field(ge=1)]
    study_name: Annotated[str, pydantic.Field(min_length=1)] | None
    pruner: PrunerSettings

    @pydantic.field_validator("scoring")
    @classmethod
    def _scorer_name(cls, scoring: str) -> str:
        # Imported here: scikit-learn takes about a second to load, and a bad override must fail before it.
        from sklearn.metrics import get_scorer_names

        names = get_scorer_names()
        if scoring in names:
            return scoring
        if close := difflib.get_close_matches(scoring, names, n=5, cutoff=0.5):  # ~60 names: show the likely ones
            raise ValueError(
                f"did you mean {', '.join(close)}? (allowed: any of sklearn.metrics.get_scorer_names(), "
                f"e.g. accuracy, roc_auc, f1)"
            )
        raise ValueError(f"allowed values (scikit-learn scorers): {', '.join(names)}")

    @pydantic.field_validator("storage")
    @classmethod
    def _storage_url(cls, url: str | None) -> str | None:
        scheme, sep, _ = (url or "").partition("://")
        if url is not None and (not sep or scheme.partition("+")[0] not in STORAGE_SCHEMES):
            raise ValueError(f"allowed schemes: {', '.join(s + '://' for s in STORAGE_SCHEMES)} or null (in memory)")
        return url
