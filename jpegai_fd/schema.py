"""The typed schema of the primary config: each key's type, and the range or choices it takes.

Registered in Hydra's ConfigStore as ``jpegai_fd_schema`` and extended by ``conf/config.yaml`` (its
first defaults entry), so composing refuses a value of the wrong type (``bpp=abc``) or an unknown key.
The values are written once, in the YAML (fields here are ``MISSING``). What a type cannot say (a
range, the allowed choices) is each field's metadata: :func:`check` applies it and :func:`allowed`
words it for the one-line errors, also for type errors that Hydra reports. Rules that tie several
keys together live in :mod:`jpegai_fd.validation`; the groups' own keys are checked by their
components (:mod:`jpegai_fd.components`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

# OmegaConf 2.3 reads typing.Optional / typing.Dict in structured configs, not `X | None` or `dict[...]`.
from typing import Any, Dict, List, Optional  # noqa: UP035

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from jpegai_fd.errors import UserError

SCHEMA_NAME = "jpegai_fd_schema"


def key(
    *,
    low: int | None = None,
    high: int | None = None,
    choices: tuple | None = None,
    positive: bool = False,
    nonzero: bool = False,
    nonempty: bool = False,
    hint: str = "",
):
    """A schema field (value in the YAML) with the rule its value obeys beyond its type."""
    given = {
        "low": low,
        "high": high,
        "choices": choices,
        "positive": positive,
        "nonzero": nonzero,
        "nonempty": nonempty,
        "hint": hint,
    }
    rule = {k: v for k, v in given.items() if v is not None and v is not False and v != ""}
    return field(default=MISSING, metadata=rule)


@dataclass
class Paths:
    data_dir: str = key()
    cache: str = key()


@dataclass
class Extract:
    chunk_size: int = key(low=1)
    shard: int = key(low=0)
    num_shards: int = key(low=1)
    # Per latent version; key() returns a dataclasses.field whose default is MISSING, nothing mutable.
    codecs: Dict[str, str] = key(choices=("none", "lz4", "zstd"))  # noqa: UP006, RUF009


@dataclass
class Pruner:
    n_startup_trials: int = key(low=0)
    n_warmup_steps: int = key(low=0)


@dataclass
class Tuning:
    n_trials: int = key(low=0)
    timeout: Optional[float] = key(positive=True, hint=" of seconds")  # noqa: UP045
    cv_folds: int = key(low=2)
    scoring: str = key(nonempty=True)
    storage: Optional[str] = key()  # noqa: UP045
    heartbeat_s: int = key(low=1)
    study_name: Optional[str] = key(nonempty=True)  # noqa: UP045
    pruner: Pruner = field(default_factory=Pruner)


@dataclass
class Tracking:
    uri: str = key(nonempty=True)
    experiment: str = key(nonempty=True)
    run_name: Optional[str] = key()  # noqa: UP045
    sweep_name: Optional[str] = key()  # noqa: UP045
    resume: bool = key()
    retry_s: float = key(low=0, hint=" (seconds)")


@dataclass
class Scoring:
    threshold_rule: str = key(choices=("balanced_accuracy", "target_fpr"))
    target_fpr: float = key(low=0, high=0.5, hint=" (a share of real images called fake, e.g. 0.01)")
    calibration: str = key(choices=("sigmoid", "isotonic", "none"))
    bootstrap_resamples: int = key(low=0, hint=" (0: no intervals)")
    ci_level: float = key(low=0.5, high=0.999)
    audit: bool = key()
    audit_max_auc: float = key(low=0.5, high=1.0)


@dataclass
class JobConfig:
    """``python -m jpegai_fd`` / ``jpegai_fd.extract``: the grid keys, the shared settings and the
    four groups (typed by the constructors of their ``_target_``)."""

    bpp: int = key(low=1, high=200, hint=" (target rate x 100: 6 means 0.06 bit per pixel)")
    component: str = key(choices=("y", "yuv"))
    latent: str = key(choices=("y", "y_hat"))
    seed: int = key(low=0)
    n_jobs: int = key(low=-1, nonzero=True)  # -1: all cores
    paths: Paths = field(default_factory=Paths)
    extract: Extract = field(default_factory=Extract)
    tuning: Tuning = field(default_factory=Tuning)
    tracking: Tracking = field(default_factory=Tracking)
    scoring: Scoring = field(default_factory=Scoring)
    dataset: Any = MISSING
    encoder: Any = MISSING
    preprocess: Any = MISSING
    classifier: Any = MISSING
    robustness: Any = None  # +robustness=standard: perturbation conditions (conf/robustness/), optional
    eval: Any = None  # '+dataset@eval.<name>=<layout>': extra test sets (jpegai_fd/extra_eval), optional
    eval_bpp: List[int] = key()  # noqa: UP006, RUF009  (other rates the test split is scored at; see extra_eval)


def register() -> None:
    ConfigStore.instance().store(name=SCHEMA_NAME, node=JobConfig)


def _leaves(cls, prefix: str = "") -> dict[str, dataclasses.Field]:
    out = {}
    for f in dataclasses.fields(cls):
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(f.type if isinstance(f.type, type) else None):
            out.update(_leaves(f.type, name + "."))
        elif f.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(f.default_factory):
            out.update(_leaves(f.default_factory, name + "."))
        else:
            out[name] = f
    return out


FIELDS = _leaves(JobConfig)


def _kind(f: dataclasses.Field) -> str:
    text = str(f.type)
    return next((k for k in ("bool", "int", "float", "str") if k in text), "value")


def allowed(dotted: str) -> str | None:
    """What key ``dotted`` takes, in words (None: not a schema key). ``extract.codecs.y`` -> its choices."""
    f = FIELDS.get(dotted) or FIELDS.get(dotted.rpartition(".")[0])
    if f is None:
        return None
    rule, kind = f.metadata, _kind(f)
    nullable = " or null" if "Optional" in str(f.type) else ""
    if "choices" in rule:
        return f"allowed values: {', '.join(rule['choices'])}"
    if kind == "bool":
        return "use true or false"
    if kind == "int" and "low" in rule:
        if rule.get("nonzero"):
            return f"it must be -1 (all cores) or an integer >= 1{nullable}"
        bound = f"between {rule['low']} and {rule['high']}" if "high" in rule else f">= {rule['low']}"
        return f"it must be an integer {bound}{rule.get('hint', '')}{nullable}"
    if kind == "float" and "low" in rule:
        bound = f"between {rule['low']} and {rule['high']}" if "high" in rule else f">= {rule['low']}"
        return f"use a number {bound}{rule.get('hint', '')}{nullable}"
    if rule.get("positive"):
        return f"use a positive number{rule.get('hint', '')}{nullable}"
    if rule.get("nonempty"):
        return f"use a non-empty text{nullable}"
    words = {"str": "text", "float": "a number", "int": "an integer"}
    return f"it must be {words.get(kind, 'a value')}{nullable}"


def _breaks(value, f: dataclasses.Field) -> bool:
    rule = f.metadata
    if value is None:
        return False  # a null in a non-Optional field is Hydra's type error already
    if "choices" in rule:
        values = value.values() if isinstance(value, (dict, DictConfig)) else [value]
        return any(v not in rule["choices"] for v in values)
    if "low" in rule and (value < rule["low"] or ("high" in rule and value > rule["high"])):
        return True
    if rule.get("nonzero") and value == 0:
        return True
    if rule.get("positive") and value <= 0:
        return True
    return bool(rule.get("nonempty")) and not str(value).strip()


def check(cfg: DictConfig) -> None:
    """Raise UserError naming the first key whose value breaks its rule."""
    for dotted, f in FIELDS.items():
        value = OmegaConf.select(cfg, dotted)
        if _breaks(value, f):
            if isinstance(value, DictConfig):  # name the entry of a dict (extract.codecs.y)
                bad = next(k for k, v in value.items() if v not in f.metadata["choices"])
                dotted, value = f"{dotted}.{bad}", value[bad]
            raise UserError(f"invalid value for '{dotted}': {value!r}; {allowed(dotted)}")
