"""Build a job's components: the one place that instantiates ``_target_`` nodes, with plain values (``_convert_="all"``:
no ``DictConfig`` below). Constructors are cheap (they check values, read no files), so the command line builds every
job of a sweep, and checks the rules between its components, before any work."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from jpegai_fd.classifiers.constraints import estimator_class
from jpegai_fd.classifiers.spec import Classifier
from jpegai_fd.datasets import ImageDataset
from jpegai_fd.encoders.base import LatentEncoder
from jpegai_fd.errors import Incompatible, UserError
from jpegai_fd.extra_eval.plan import ExtraPlan, check_rates, check_set, check_set_name, renamed
from jpegai_fd.features.augment import Augment
from jpegai_fd.perturb import Perturbation

GROUPS = ("dataset", "encoder", "preprocess", "classifier")


@dataclass(frozen=True)
class Components:
    """The built options of one job, and what it evaluates beyond its test split."""

    dataset: ImageDataset
    encoder: LatentEncoder
    preprocess: object  # a method of jpegai_fd.features.preprocess (features(), whole_latents)
    classifier: Classifier
    extras: ExtraPlan = field(default_factory=ExtraPlan)
    augment: Augment | None = None  # augment=<option>: perturbed copies of some training images


def _instantiate(node, key: str):
    """The object ``node`` names with ``_target_``, built with plain values; one-line errors naming ``key``."""
    if not isinstance(node, (dict, DictConfig)) or "_target_" not in node:
        raise UserError(
            f"'{key}' has no _target_; every {key} option names its class with _target_ (see docs/how-to/extending.md)"
        )
    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as exc:
        if isinstance(exc.__cause__, UserError):  # a value the component refused: its own one-line message
            raise exc.__cause__ from None
        raise UserError(
            f"cannot build {key}={node.get('name')} from its _target_ "
            f"{node.get('_target_')!r}: {str(exc.__cause__ or exc).splitlines()[0]}"
        ) from exc


def build_group(cfg: DictConfig, group: str):
    """The option of ``group`` in ``cfg``, instantiated from its ``_target_``."""
    estimator = OmegaConf.select(cfg, f"{group}.estimator._target_") if group == "classifier" else None
    if estimator is not None:  # Hydra's own error for an unimportable class names neither key nor fix
        estimator_class(estimator)
    return _instantiate(cfg[group], group)


def _extra_set(name: str, node, image_size: int, key: str = "eval") -> ImageDataset:
    check_set_name(name, node, key)
    try:
        dataset = _instantiate(node, f"{key}.{name}")
    except UserError as exc:
        raise renamed(exc, f"{key}.{name}") from None
    return check_set(name, dataset, image_size, key)


def build_sources(cfg: DictConfig, sets: dict) -> dict[str, ImageDataset]:
    """The ``train_extra`` sources, their names distinct from the job's dataset and the extra sets; ``holdout`` checked."""
    size, main, holdout = int(cfg.dataset.image_size), str(cfg.dataset.name), cfg.get("holdout")
    nodes = cfg.get("train_extra") or {}
    for name in map(str, nodes):
        if name == main or name in sets:
            what = f"job's dataset (dataset.name={main})" if name == main else f"extra test set eval.{name}"
            raise UserError(f"'train_extra.{name}' has the name of the {what}; sources need names of their own")
    sources = {str(n): _extra_set(str(n), node, size, "train_extra") for n, node in nodes.items()}
    if holdout is not None and holdout not in (main, *sources):
        names = ", ".join((main, *sources))
        raise UserError(f"invalid value for 'holdout': {holdout!r}; allowed values: {names} (the training sources)")
    if holdout == main and not sources:
        raise UserError(
            f"holdout={main} leaves nothing to train on; add a source with '+dataset@train_extra.<name>=<layout>'"
        )
    return sources


def build_conditions(specs: Mapping[str, Mapping], key: str = "robustness.conditions") -> dict[str, Perturbation]:
    """Condition name -> Perturbation, in the order given. One-line UserError naming
    ``<key>.<name>`` for a spec without ``_target_``, a target that is not a perturbation, bad
    parameters, or two names for the same condition (same ``describe()``)."""
    if not isinstance(specs, Mapping):
        raise UserError(f"'{key}' must map condition names to _target_ specs, got {type(specs).__name__}")
    out: dict[str, Perturbation] = {}
    seen: dict[str, str] = {}
    for name, spec in specs.items():
        where = f"{key}.{name}"
        if not isinstance(spec, Mapping) or "_target_" not in spec:
            raise UserError(
                f"'{where}' needs a _target_, e.g. {{_target_: jpegai_fd.perturb.JPEGRecompress, quality: 75}}"
            )
        try:
            condition = _instantiate(dict(spec), where)
        except UserError as exc:
            raise UserError(f"'{where}': {exc}") from None
        if not isinstance(condition, Perturbation):
            raise UserError(
                f"'{where}._target_' ({spec['_target_']}) is not a perturbation; use a class of jpegai_fd.perturb"
            )
        if (digest := condition.digest()) in seen:
            raise UserError(f"'{where}' is the same condition as '{key}.{seen[digest]}'; remove one of them")
        seen[digest] = str(name)
        out[str(name)] = condition
    return out


def build_extras(cfg: DictConfig, encoder: LatentEncoder | None) -> ExtraPlan:
    """Extra test sets (``eval``), conditions (``robustness.conditions``), rates (``eval_bpp``, ``encoder`` codes)."""
    size = int(cfg.dataset.image_size)
    sets = {str(n): _extra_set(str(n), node, size) for n, node in (cfg.get("eval") or {}).items()}
    specs = (cfg.get("robustness") or {}).get("conditions")
    conditions = build_conditions(OmegaConf.to_container(specs, resolve=True)) if specs else {}
    rates = check_rates(OmegaConf.to_container(cfg.eval_bpp) if cfg.get("eval_bpp") else [], int(cfg.bpp), encoder)
    return ExtraPlan(sets, conditions, rates, build_sources(cfg, sets))


def build_augment(node) -> Augment | None:
    """``augment``: its conditions built like the robustness ones, its keys checked (one-line errors)."""
    if not node:
        return None
    keys = dict(OmegaConf.to_container(node, resolve=True))
    if unknown := set(keys) - {"conditions", "fraction", "seed"}:
        raise UserError(f"unknown key 'augment.{sorted(unknown)[0]}'; augment takes conditions, fraction and seed")
    conditions = build_conditions(keys.pop("conditions", None) or {}, "augment.conditions")
    return Augment(conditions, **{"fraction": None, "seed": None, **keys})


def build(cfg: DictConfig) -> Components:
    """The components of ``cfg``, the rules between them checked (cheap: nothing is read or started)."""
    parts = {group: build_group(cfg, group) for group in GROUPS}
    parts = Components(**parts, extras=build_extras(cfg, parts["encoder"]), augment=build_augment(cfg.get("augment")))
    check_compatible(parts, int(cfg.bpp))
    return parts


def check_compatible(parts: Components, bpp: int) -> None:
    """The rules components declare about each other, before any work (:class:`Incompatible`, naming
    the keys): the encoder's rates (``check_rate``), the preprocessing against the latent grid the
    encoder makes of the dataset's images (``check_grid``), whole latents for classifiers that need them."""
    try:
        if (check_rate := getattr(parts.encoder, "check_rate", None)) is not None:
            check_rate(bpp)
        if (check_grid := getattr(parts.preprocess, "check_grid", None)) is not None:
            size = parts.dataset.image_size
            grid = tuple(parts.encoder.latent_shapes(size, size)["model_y"][1:])
            check_grid(grid, f"the {grid[0]}x{grid[1]} latent grid at dataset.image_size={size}")
    except UserError as exc:
        raise Incompatible(str(exc)) from exc
    if parts.classifier.file_properties and not parts.extras.empty:
        raise Incompatible(
            f"classifier={parts.classifier.name} scores the file properties of the job's own test split only; "
            "remove eval, robustness, eval_bpp and train_extra, or use a latent classifier"
        )
    if parts.augment and (parts.classifier.file_properties or parts.classifier.stream_from_cache):
        fix = "" if parts.classifier.file_properties else "set classifier.stream_from_cache=false or "
        raise Incompatible(
            f"augment cannot train classifier={parts.classifier.name}: the augmented copies are latents in cache "
            f"groups of their own, neither image files nor the one group it streams; {fix}remove augment"
        )
    if parts.classifier.needs_whole_latents and not parts.preprocess.whole_latents:
        raise Incompatible(
            f"classifier={parts.classifier.name} reads whole latents and needs a preprocessing "
            f"that keeps them (preprocess=flatten), got preprocess={parts.preprocess.name}; use "
            f"preprocess=flatten or another classifier"
        )
