"""Build a job's components from the composed config: the one place that instantiates the groups.

Every option of ``dataset``, ``encoder``, ``preprocess`` and ``classifier`` names its class with
``_target_``; :func:`build` instantiates the four with plain Python values (``_convert_="all"``), so
the packages below never see a ``DictConfig``. Constructors are cheap (they check values, read no
files), which lets the command line build every job of a sweep before any work to check the rules
the components declare (:func:`check_compatible`). The helpers below hand the job's other keys
(``bpp``, ``component``, ``paths.cache``, ``extract.*``) to the lower packages as plain values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from jpegai_fd.cache import ExtractionStats, ExtractSettings, LatentGroup, cached_latents
from jpegai_fd.classifiers.spec import Classifier
from jpegai_fd.datasets import DatasetSplit, ImageDataset
from jpegai_fd.encoders.base import LatentEncoder
from jpegai_fd.errors import Incompatible, UserError
from jpegai_fd.features import FeatureSet, feature_set

GROUPS = ("dataset", "encoder", "preprocess", "classifier")


@dataclass(frozen=True)
class Components:
    """The built options of one job."""

    dataset: ImageDataset
    encoder: LatentEncoder
    preprocess: object  # a method of jpegai_fd.features.preprocess (features(), whole_latents)
    classifier: Classifier


def build_group(cfg: DictConfig, group: str):
    """The option of ``group`` in ``cfg``, instantiated from its ``_target_`` with plain values."""
    node = cfg[group]
    if "_target_" not in node:
        raise UserError(
            f"'{group}' has no _target_; every {group} option names its class with _target_ (see README 'Extending')"
        )
    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as exc:
        if isinstance(exc.__cause__, UserError):  # a value the component refused: its own one-line message
            raise exc.__cause__ from None
        raise UserError(
            f"cannot build {group}={node.get('name')} from its _target_ "
            f"{node.get('_target_')!r}: {str(exc.__cause__ or exc).splitlines()[0]}"
        ) from exc


def build(cfg: DictConfig) -> Components:
    """The four components of ``cfg`` (cheap: nothing is read or started)."""
    return Components(**{group: build_group(cfg, group) for group in GROUPS})


def check_compatible(parts: Components, bpp: int) -> None:
    """The rules components declare about each other, before any work (:class:`Incompatible`, naming
    the keys): the encoder's rates (``check_rate``), the preprocessing against the latent grid the
    encoder makes of the dataset's images (``check_grid``), whole latents for classifiers that need them."""
    try:
        check_rate = getattr(parts.encoder, "check_rate", None)
        if check_rate is not None:
            check_rate(bpp)
        check_grid = getattr(parts.preprocess, "check_grid", None)
        if check_grid is not None:
            size = parts.dataset.image_size
            grid = tuple(parts.encoder.latent_shapes(size, size)["model_y"][1:])
            check_grid(grid, f"the {grid[0]}x{grid[1]} latent grid at dataset.image_size={size}")
    except UserError as exc:
        raise Incompatible(str(exc)) from exc
    if parts.classifier.needs_whole_latents and not parts.preprocess.whole_latents:
        raise Incompatible(
            f"classifier={parts.classifier.name} reads whole latents and needs a preprocessing "
            f"that keeps them (preprocess=flatten), got preprocess={parts.preprocess.name}; use "
            f"preprocess=flatten or another classifier"
        )


def build_encoder(cfg: DictConfig) -> LatentEncoder:
    """The encoder of ``cfg``, its rate rule checked and its installation prepared (``prepare()``)."""
    encoder = build_group(cfg, "encoder")
    if hasattr(encoder, "check_rate"):
        encoder.check_rate(cfg.bpp)
    if hasattr(encoder, "prepare"):
        encoder.prepare()
    return encoder


def extract_settings(cfg: DictConfig) -> ExtractSettings:
    ex = cfg.extract
    return ExtractSettings(int(ex.chunk_size), dict(ex.codecs or {}), int(ex.shard), int(ex.num_shards))


def load_splits(cfg: DictConfig, dataset: ImageDataset | None = None) -> tuple[DatasetSplit, DatasetSplit]:
    """The (train, test) splits of ``cfg.dataset``, sampled with ``cfg.seed``."""
    return (dataset or build_group(cfg, "dataset")).load_splits(int(cfg.seed))


def load_valid_split(cfg: DictConfig, dataset: ImageDataset | None = None) -> DatasetSplit:
    """The validation split of ``cfg.dataset`` (chooses the threshold, calibrates; never trained on)."""
    return (dataset or build_group(cfg, "dataset")).load_valid_split(int(cfg.seed))


def scoring_settings(cfg: DictConfig):
    """The ``scoring`` keys as :class:`~jpegai_fd.scoring.settings.ScoringSettings` (resampling seeded by ``seed``)."""
    from jpegai_fd.scoring.settings import ScoringSettings

    return ScoringSettings(**{k: cfg.scoring[k] for k in cfg.scoring}, seed=int(cfg.seed))


def latents(
    cfg: DictConfig, split: DatasetSplit, encoder: LatentEncoder, dataset: ImageDataset | None = None
) -> tuple[LatentGroup, ExtractionStats]:
    """The cache group of ``split`` at ``cfg.bpp``, extracting this process's missing chunks."""
    dataset = dataset or build_group(cfg, "dataset")
    return cached_latents(
        cfg.paths.cache, split, encoder, int(cfg.bpp), dataset.reader, extract_settings(cfg), dataset.max_bad_fraction
    )


def features(
    cfg: DictConfig, group: LatentGroup, train: bool, rows: np.ndarray | None = None, parts: Components | None = None
) -> FeatureSet:
    """The samples of a cached split for ``cfg.preprocess``, ``cfg.component`` and ``cfg.latent``
    (streamed from the cache when the classifier asks for it)."""
    preprocess = parts.preprocess if parts else build_group(cfg, "preprocess")
    classifier = parts.classifier if parts else build_group(cfg, "classifier")
    return feature_set(group, preprocess, cfg.component, cfg.latent, train, rows, stream=classifier.stream_from_cache)
