"""The edge (docs/concepts/pipeline.md): the schema Hydra composes against, :func:`settings` (a composed config as
typed settings), :func:`check_jobs` (every job of a sweep) and :func:`one_line` (a refusal as one line)."""

import dataclasses
import errno
import hashlib
import itertools
import json
import secrets
import typing
from dataclasses import dataclass, field
from pathlib import Path

# OmegaConf 2.3 reads typing.Optional / typing.Dict in structured configs, not `X | None` or `dict[...]`.
from typing import Annotated, Any, Dict, List, Literal, Optional  # noqa: UP035

import pydantic
from pydantic.dataclasses import dataclass as checked
from hydra import compose
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException
from omegaconf.errors import ValidationError as OmegaConfValidationError

from jpegai_fd.cache.settings import ExtractSettings
from jpegai_fd.errors import Incompatible, UserError
from jpegai_fd.scoring.settings import ScoringSettings
from jpegai_fd.tracking.settings import PARAM_VALUE_LIMIT, JobPlace, JobRecord, TrackingSettings
from jpegai_fd.tuning.settings import TuningSettings

SCHEMA_NAME = "jpegai_fd_schema"
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
# Both encoders (block DCT and JPEG AI's analysis transform) map an image side s to ceil(s / 16)
# latent positions, so a classifier that needs the grid follows dataset.image_size by itself.
LATENT_STRIDE = 16
# Drawn once per process: two commands started in the same second get different output folders.
LAUNCH_ID = secrets.token_hex(3)


# ---- the settings of the keys outside the groups (each group's keys are its component's)
@checked(frozen=True)
class Grid:
    """The grid keys and the job-wide values; the stage settings classes below hold the rest."""

    bpp: Annotated[int, pydantic.Field(ge=1, le=200)]
    component: Literal["y", "yuv"]
    latent: Literal["y", "y_hat"]
    seed: Annotated[int, pydantic.Field(ge=0)]
    n_jobs: int
    holdout: Optional[str] = None  # noqa: UP045  (a training source left out of training, scored only)
    train_balance: Literal["class", "none"] = "class"

    @pydantic.field_validator("n_jobs")
    @classmethod
    def _cores(cls, value: int) -> int:
        if value == 0 or value < -1:
            raise ValueError("it must be -1 (all cores) or an integer >= 1")
        return value


@checked(frozen=True)
class Paths:
    data_dir: str
    cache: str


# config section -> the class that checks its keys
SECTIONS: dict[str, type] = {"paths": Paths, "extract": ExtractSettings, "tuning": TuningSettings}
SECTIONS |= {"scoring": ScoringSettings, "tracking": TrackingSettings}


# ---- the schema Hydra composes against, derived from the settings classes (types declared once)
def _plain_type(kind):
    """The OmegaConf type of a settings field's annotation (OmegaConf 2.3 reads typing's spellings)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Annotated:
        return _plain_type(args[0])
    if origin is Literal:
        return type(args[0])
    if origin is dict:
        return Dict[str, _plain_type(args[1])]  # noqa: UP006
    if type(None) in args:
        return Optional[_plain_type(next(a for a in args if a is not type(None)))]  # noqa: UP045
    return _schema(kind) if dataclasses.is_dataclass(kind) else kind


def _schema(cls: type, extra: tuple = (), skip: tuple = ()) -> type:
    """A structured-config dataclass with ``cls``'s fields and types, every value MISSING (the YAML has them)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = [(n, _plain_type(hints[n]), field(default=MISSING)) for n in cls.__dataclass_fields__ if n not in skip]
    return dataclasses.make_dataclass(f"{cls.__name__}Schema", [*fields, *extra])


GROUPS = ("dataset", "encoder", "preprocess", "classifier")  # typed by the constructors of their _target_


def job_schema() -> type:
    """``python -m jpegai_fd`` / ``jpegai_fd.extract``: the grid keys, the sections and the four groups."""
    sections = [
        (name, _schema(cls, skip=("seed",) if name == "scoring" else ()), field(default=MISSING))  # the job's seed
        for name, cls in SECTIONS.items()
    ]
    others = [
        *[(name, Dict[str, Any], field(default=MISSING)) for name in GROUPS],  # noqa: UP006
        ("robustness", Any, field(default=None)),  # +robustness=standard: perturbation conditions
        ("augment", Any, field(default=None)),  # augment=standard: perturbed copies of training images
        ("eval", Any, field(default=None)),  # '+dataset@eval.<name>=<layout>': extra test sets
        ("train_extra", Dict[str, Any], field(default_factory=dict)),  # noqa: UP006  (more training sources)
        ("eval_bpp", List[int], field(default=MISSING)),  # noqa: UP006  (other rates the test split is scored at)
    ]
    return _schema(Grid, (*sections, *others))


def _latent_grid(image_side) -> ListConfig:
    """``${latent_grid:${dataset.image_size}}`` -> [H, W] of the latents of a square image (a config
    node, so that ``--cfg job --resolve`` can print it)."""
    side = -(-int(image_side) // LATENT_STRIDE)
    return ListConfig([side, side])


def register() -> None:
    """The schema in Hydra's ConfigStore and the resolvers the config files use.

    ``${launch_id:}`` is cached on the config (``use_cache``), like Hydra's ``${now:}``: Hydra copies a
    config's resolver cache into each job's config (joblib workers, SLURM jobs), so jobs still resolve
    the launching process's value and find their sweep folder."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=job_schema())
    OmegaConf.register_new_resolver("latent_grid", _latent_grid, replace=True)
    OmegaConf.register_new_resolver("launch_id", lambda: LAUNCH_ID, replace=True, use_cache=True)


# ---- the settings of a job
@dataclass(frozen=True)
class Settings:
    """Everything a job needs besides its built components, as plain values."""

    grid: Grid
    cache: str
    extract: ExtractSettings
    tuning: TuningSettings
    scoring: ScoringSettings
    tracking: TrackingSettings
    record: JobRecord  # what the job's MLflow run is tagged and named with
    groups: dict[str, dict]  # the resolved encoder and preprocess options, which the saved model rebuilds
    study_name: str


def factor_tags(cfg: DictConfig) -> dict[str, str]:
    """The grid factors of a job, as the tags the MLflow UI groups and filters by."""
    named = ("bpp", "component", "preprocess", "latent", "classifier", "encoder", "dataset")  # a group by its name
    return {
        **{k: str(cfg[k].name if k in GROUPS else cfg[k]) for k in named},
        # encoder=jpegai only: chroma format changes latents; random-weight opt-in runs are flagged.
        **({"encoder.chroma": str(cfg.encoder.chroma)} if "chroma" in cfg.encoder else {}),
        **({"science.valid": "false"} if cfg.encoder.get("allow_missing_weights") else {}),
        **({"holdout": str(cfg.holdout)} if cfg.get("holdout") else {}),
        **({"train_sources": ",".join(train_sources(cfg))} if cfg.get("train_extra") else {}),
    }


def train_sources(cfg: DictConfig) -> list[str]:
    """The sources a job trains on: its dataset (named by ``dataset.name``) and ``train_extra``, less ``holdout``."""
    return [n for n in (str(cfg.dataset.name), *map(str, cfg.get("train_extra") or {})) if n != cfg.get("holdout")]


def _flat(node: Any, prefix: str = "") -> dict[str, str]:
    """A resolved config as dotted keys -> text (lists kept as their JSON text)."""
    if isinstance(node, dict) and node:
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    text = json.dumps(node) if isinstance(node, (list, dict)) else str(node)
    return {prefix.rstrip("."): text[:PARAM_VALUE_LIMIT]}


def _hash(data: Any, n: int) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:n]


def _study_name(cfg: DictConfig, factors: dict[str, str]) -> str:
    """Optuna study of a job: its factors plus a hash of everything else the search depends on."""
    if cfg.tuning.study_name:
        return str(cfg.tuning.study_name)
    parts = ("dataset", "preprocess", "classifier", "augment")  # augmented training is another objective
    basis = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in parts if cfg.get(k) is not None}
    basis.update(cv_folds=cfg.tuning.cv_folds, scoring=cfg.tuning.scoring, seed=cfg.seed)
    if cfg.get("train_extra") or cfg.get("holdout"):  # other training images (the key of older studies kept)
        sources = OmegaConf.to_container(cfg.train_extra, resolve=True)
        basis.update(sources=sources, holdout=cfg.get("holdout"), train_balance=cfg.train_balance)
    t = factors
    return (
        f"{t['dataset']}-{t['encoder']}-bpp{t['bpp']}-{t['component']}-{t['latent']}-"
        f"{t['preprocess']}-{t['classifier']}-{_hash(basis, 10)}"
    )


def _section(cls: type, section: str, values: dict):
    try:
        return cls(**values)
    except pydantic.ValidationError as exc:
        raise _pydantic_error(exc, cls, section) from None


def settings(cfg: DictConfig) -> Settings:
    """The typed settings of a composed job config; UserError naming the first bad key."""
    job = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])  # Hydra's own node: not the job's
    data = OmegaConf.to_container(job, resolve=True)
    # eval_bpp: checked with the extra plan
    grid_keys = ("bpp", "component", "latent", "seed", "n_jobs", "holdout", "train_balance")
    grid = _section(Grid, "", {k: data[k] for k in grid_keys if data.get(k) is not None})
    sections = {name: _section(cls, name, data[name]) for name, cls in SECTIONS.items()}
    sections["scoring"] = dataclasses.replace(sections["scoring"], seed=grid.seed)  # the bootstrap: the job's seed
    factors, computation = factor_tags(cfg), {k: v for k, v in data.items() if k != "tracking"}
    record = JobRecord(factors, _hash(computation, 16), _flat(data), OmegaConf.to_yaml(job, resolve=True))
    groups = {k: data[k] for k in ("encoder", "preprocess")}
    sections["cache"] = str(sections.pop("paths").cache)  # of the paths, the job needs the cache's
    return Settings(grid, record=record, groups=groups, study_name=_study_name(cfg, factors), **sections)


# ---- one-line errors
def _field(cls: type, name: str):
    return getattr(cls, "__pydantic_fields__", {}).get(name)


def allowed(cls: type, name: str) -> str:
    """What field ``name`` of settings class ``cls`` takes, in words."""
    if (info := _field(cls, name)) is None:
        return ""
    kind = info.annotation
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    nullable = " or null" if type(None) in typing.get_args(kind) else ""
    base = args[0] if len(args) == 1 else kind
    inner = []
    if typing.get_origin(base) is Annotated:  # Optional[Annotated[float, Field(gt=0)]]: the type and rule inside
        base, *inner = typing.get_args(base)
    if typing.get_origin(base) is dict:  # extract.codecs.y: what each entry takes
        base = typing.get_args(base)[1]
    if typing.get_origin(base) is Literal:
        return f"allowed values: {', '.join(map(str, typing.get_args(base)))}"
    if base is bool:
        return "use true or false"
    rules = [*info.metadata, *(m for f in inner for m in getattr(f, "metadata", [f]))]
    b = {a: getattr(m, a) for m in rules for a in ("ge", "gt", "le", "lt") if getattr(m, a, None) is not None}
    low, high = b.get("ge", b.get("gt")), b.get("le", b.get("lt"))
    what = "an integer" if base is int else "a number"
    if low is not None and high is not None:
        return f"it must be {what} between {low} and {high}{nullable}"
    if "gt" in b and b["gt"] == 0:
        return f"use a positive number{nullable}"
    if low is not None:
        return f"it must be {what} >= {low}{nullable}"
    return f"it must be {'text' if base is str else what}{nullable}"


def _owner(cls: type, path: list[str]) -> tuple[type, str]:
    """The settings class and field name that a key path below ``cls`` ends in (nested sections walked)."""
    for part in path[:-1]:
        inner = typing.get_type_hints(cls).get(part)
        if not dataclasses.is_dataclass(inner):
            return cls, part  # a dict entry (extract.codecs.y): what the dict's values take
        cls = inner
    return cls, (path[-1] if path else "")


def _pydantic_error(exc: pydantic.ValidationError, cls: type, section: str) -> UserError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key = ".".join(p for p in (section, *loc) if p) or section
    owner, name = _owner(cls, [p for p in loc if not p.isdigit()])
    msg = str(err.get("msg", ""))
    if err["type"] == "value_error" or not _field(owner, name):
        words = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    else:
        words = allowed(owner, name) or msg
    return UserError(f"invalid value for '{key}': {err.get('input')!r}; {words}")


def _allowed_key(dotted: str) -> str:
    """What a config key takes, in words, from the settings class that checks it ('' when unknown)."""
    section, _, rest = dotted.partition(".")
    if not rest:  # a key without a section: a grid key
        return allowed(Grid, section)
    cls = SECTIONS.get(section)
    return allowed(*_owner(cls, rest.split("."))) if cls else ""


def _composition_error(exc: ConfigCompositionException, overrides: list[str]) -> UserError:
    """One line for an override Hydra refused: a value of the wrong type or an unknown key."""
    cause = exc
    while cause is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__
    key = getattr(cause, "full_key", None) or ""

    def named(match) -> str:  # the override that set the key
        return next((o for o in overrides if match(o.lstrip("+~").partition("=")[0])), " ".join(overrides))

    if isinstance(cause, OmegaConfValidationError) and key:
        value = getattr(cause, "value", None)
        value = named(lambda k: k == key).partition("=")[2] if value is None else value
        return UserError(f"invalid value for '{key}': {value!r}; {_allowed_key(key) or str(cause).splitlines()[0]}")
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and key:
        line = named(lambda k: k == key or k.startswith(key + "."))
        return UserError(
            f"unknown config key '{key}' in '{line}'; check the spelling "
            f"(python -m jpegai_fd --cfg job lists the keys) or add a new key with +{line}"
        )
    return UserError(str(exc).splitlines()[0])


WRITE_ERRORS = (errno.EROFS, errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EDQUOT)  # a folder the user chose


def one_line(exc: BaseException, overrides: list[str] = ()) -> UserError | None:
    """The one-line UserError for an error a user caused (None: not one of those)."""
    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, MissingConfigException):
        group, _, option = str(exc.missing_cfg_file or "").rpartition("/")
        if group and exc.options:
            return UserError(f"invalid value for '{group}': {option!r}; allowed values: {', '.join(exc.options)}")
        return UserError(str(exc).splitlines()[0])
    if isinstance(exc, ConfigCompositionException):
        return _composition_error(exc, list(overrides))
    if isinstance(exc, OverrideParseException):
        return UserError(f"cannot parse the override: {str(exc).splitlines()[0]}")
    while exc is not None and not (isinstance(exc, OSError) and exc.errno in WRITE_ERRORS):
        exc = exc.__cause__ or exc.__context__  # e.g. a library's error raised while handling a full disk
    if exc is not None:
        return UserError(
            f"cannot write '{exc.filename or '?'}' ({exc.strerror}); make room or allow writes there, or set the key "
            "naming that folder (hydra.run.dir, hydra.sweep.dir, paths.cache, tracking.uri) to another one"
        )
    return None


# ---- a whole sweep, checked before any job runs
def expand(lines: list[str]) -> list[list[str]]:
    """The jobs of the override ``lines`` as Hydra's basic sweeper expands them: ``key=a,b`` sweeps,
    later overrides of a key replace its values in place, the product in that order.

    Hand-written because the sweeper's own expansion is not public API."""
    choices: dict[str, list[str]] = {}
    for o in OverridesParser.create().parse_overrides(lines):
        key = o.get_key_element()
        values = list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.get_value_element_as_str()]
        choices[key] = [f"{key}={v}" for v in values]
    return [list(job) for job in itertools.product(*choices.values())]


def check_job(cfg: DictConfig) -> None:
    """Every rule of one composed job: the settings, the components and the rules between them."""
    from jpegai_fd import components  # the components' modules load only once the keys are known good

    settings(cfg)
    components.build(cfg)


def check_jobs(config_name: str, task: list[str], sweeper_params: dict | None) -> int:
    """Compose and check every job of a sweep (GlobalHydra must be initialised, as inside the app);
    the number of jobs. A rule broken by one combination names the combination."""
    overrides = [o for o in task if not o.startswith("hydra.")]
    jobs = expand([f"{k}={v}" for k, v in (sweeper_params or {}).items()] + overrides)
    # expand() gives every job one override per key, in the same order: a column per key
    swept = {column[0].partition("=")[0] for column in zip(*jobs) if len(set(column)) > 1}
    for i, job in enumerate(jobs):
        shown = " ".join(o for o in job if o.partition("=")[0] in swept) or " ".join(job) or "(defaults)"
        try:
            check_job(compose(config_name=config_name, overrides=job))
        except Incompatible as exc:
            if len(jobs) == 1:
                raise
            raise Incompatible(
                f"{exc}; this sweep combines {shown} (its job {i}, counting from 0, of {len(jobs)}): "
                f"sweep those values separately"
            ) from exc
        except Exception as exc:
            if (error := one_line(exc, job)) is None:
                raise
            raise error from exc
    return len(jobs)


def job_place() -> JobPlace:
    """Where this job runs, read from Hydra's runtime (an empty place outside a Hydra app)."""
    if not HydraConfig.initialized():
        return JobPlace()
    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    return JobPlace(
        output_dir=Path(hc.runtime.output_dir),
        sweep_dir=Path(hc.sweep.dir) if multirun else None,
        num=int(hc.job.num) if multirun else None,
        overrides=tuple(hc.overrides.task),
        override_dirname=str(hc.job.override_dirname) if multirun else None,
    )
