"""Checks on a composed config that Hydra cannot express: allowed values and ranges.

``validate_config(cfg)`` raises :class:`UserError` naming the first bad key, its value and what is
allowed. It runs before any work, both from the command line (on every value of a sweep) and from
``run_job``, so the compose API gets the same guarantees. Estimator parameters and the scorer are
checked against the libraries' own rules (:mod:`jpegai_fd.validation_classifier`).
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from jpegai_fd.cache.store import CODECS
from jpegai_fd.config_resolvers import latent_grid
from jpegai_fd.errors import UserError
from jpegai_fd.tracking.connection import check_scheme
from jpegai_fd.validation_classifier import check_classifier, check_scoring

# The reference software accepts any integer target rate up to CodingEngine.max_supported_bpp = 200.
BPP_RANGE = (1, 200)
CHOICES = {
    "component": ("y", "yuv"),
    "latent": ("y", "y_hat"),
}
STORAGE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "journal")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fail(key: str, value, allowed: str) -> None:
    raise UserError(f"invalid value for '{key}': {value!r}; {allowed}")


def _require_int(cfg: DictConfig, key: str, low: int, high: int | None = None, hint: str = "",
                 nullable: bool = False) -> None:
    value = OmegaConf.select(cfg, key)
    if nullable and value is None:
        return
    if not (_is_int(value) and value >= low and (high is None or value <= high)):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        _fail(key, value, f"it must be an integer {bound}{hint}" + (" or null" if nullable else ""))


def _require_choice(cfg: DictConfig, key: str, allowed) -> None:
    value = OmegaConf.select(cfg, key)
    if value not in allowed:
        _fail(key, value, f"allowed values: {', '.join(map(str, allowed))}")


def _require_bool(cfg: DictConfig, key: str) -> None:
    value = OmegaConf.select(cfg, key)
    if value is not None and not isinstance(value, bool):
        _fail(key, value, "use true or false")


def _check_n_jobs(cfg: DictConfig) -> None:
    value = cfg.get("n_jobs")
    if not (_is_int(value) and (value == -1 or value >= 1)):
        _fail("n_jobs", value, "it must be -1 (all cores) or an integer >= 1")


def _check_dataset(cfg: DictConfig) -> None:
    from jpegai_fd.datasets.images import SIZE_POLICIES

    ds = cfg.dataset
    _require_int(cfg, "dataset.image_size", 1)
    _require_int(cfg, "dataset.num_train", 2, nullable=True, hint=" (balanced: half per class)")
    _require_int(cfg, "dataset.num_test", 2, nullable=True, hint=" (balanced: half per class)")
    if "size_policy" in ds:
        _require_choice(cfg, "dataset.size_policy", SIZE_POLICIES)
    fraction = ds.get("max_bad_fraction")
    if fraction is not None and (isinstance(fraction, bool) or not isinstance(fraction, (int, float))
                                 or not 0 <= fraction <= 1):
        _fail("dataset.max_bad_fraction", fraction, "use a number in [0, 1] or null")
    for split in (ds.get("num_per_class") or {}):
        _require_int(cfg, f"dataset.num_per_class.{split}", 1)
    fractions = ds.get("split_fractions") or {}
    for split, value in fractions.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            _fail(f"dataset.split_fractions.{split}", value, "use a number >= 0 (the fractions are normalised by their sum)")
    if fractions and sum(fractions.values()) <= 0:
        _fail("dataset.split_fractions", dict(fractions), "at least one fraction must be > 0")


def _check_preprocess(cfg: DictConfig) -> None:
    h, w = latent_grid(cfg.dataset.image_size)
    if cfg.preprocess.name == "multi":
        _require_int(cfg, "preprocess.num_patches", 1, h * w,
                     hint=f" (the positions of the {h}x{w} latent grid at dataset.image_size={cfg.dataset.image_size})")
    if cfg.preprocess.name == "single":
        for key, size in (("row", h), ("col", w)):
            _require_int(cfg, f"preprocess.{key}", 0, size - 1, nullable=True,
                         hint=f" (the {h}x{w} latent grid at dataset.image_size={cfg.dataset.image_size}; null: centre)")


def _check_tuning(cfg: DictConfig) -> None:
    _require_int(cfg, "tuning.n_trials", 0)
    _require_int(cfg, "tuning.cv_folds", 2)
    timeout = cfg.tuning.timeout
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        _fail("tuning.timeout", timeout, "use a positive number of seconds or null")
    check_scoring(cfg.tuning.scoring)
    if cfg.tuning.storage is not None:
        check_scheme("tuning.storage", cfg.tuning.storage, STORAGE_SCHEMES, " or null (in memory)")
    _require_int(cfg, "tuning.heartbeat_s", 1)
    _require_int(cfg, "tuning.pruner.n_startup_trials", 0)
    _require_int(cfg, "tuning.pruner.n_warmup_steps", 0)
    name = cfg.tuning.get("study_name")
    if name is not None and (not isinstance(name, str) or not name):
        _fail("tuning.study_name", name, "use a non-empty name or null")


def _check_tracking(cfg: DictConfig) -> None:
    check_scheme("tracking.uri", cfg.tracking.uri)
    experiment = cfg.tracking.experiment
    if not isinstance(experiment, str) or not experiment.strip():
        _fail("tracking.experiment", experiment, "use a non-empty name")
    _require_bool(cfg, "tracking.resume")


def validate_config(cfg: DictConfig) -> None:
    """Raise UserError for the first invalid value in ``cfg``; return None when all is well."""
    _require_int(cfg, "bpp", *BPP_RANGE, hint=" (target rate x 100: 6 means 0.06 bit per pixel)")
    for key, allowed in CHOICES.items():
        _require_choice(cfg, key, allowed)
    _require_int(cfg, "seed", 0)
    _check_n_jobs(cfg)
    _require_int(cfg, "extract.chunk_size", 1)
    _require_int(cfg, "extract.num_shards", 1)
    _require_int(cfg, "extract.shard", 0, cfg.extract.num_shards - 1, hint=" (shard < num_shards)")
    _check_dataset(cfg)
    _check_preprocess(cfg)
    _check_tuning(cfg)
    _check_tracking(cfg)
    if cfg.encoder.name == "jpegai":
        from jpegai_fd.encoders.jpegai.settings import check_table_rate  # the jpegai package only when chosen

        check_table_rate(cfg.encoder.get("rate_mode"), cfg.bpp)
    elif cfg.encoder.name == "dct":
        _require_int(cfg, "encoder.rate_search_iters", 1)
    for latent, codec in (OmegaConf.select(cfg, "extract.codecs") or {}).items():
        if codec not in CODECS:
            _fail(f"extract.codecs.{latent}", codec, f"allowed values: {', '.join(CODECS)}")
    _require_bool(cfg, "classifier.stream_from_cache")
    check_classifier(cfg.classifier)
