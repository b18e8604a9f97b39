"""Checks on a composed config that Hydra cannot express: allowed values and ranges.

``validate_config(cfg)`` raises :class:`UserError` naming the first bad key and its allowed values.
It runs before any work, both from the command line (on every value of a sweep) and from
``run_job``, so the compose API gets the same guarantees.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from jpegai_fd.cache.store import CODECS
from jpegai_fd.errors import UserError

# The reference software accepts any integer target rate up to CodingEngine.max_supported_bpp = 200.
BPP_RANGE = (1, 200)
CHOICES = {
    "component": ("y", "yuv"),
    "latent": ("y", "y_hat"),
}
SEARCH_TYPES = ("int", "float", "categorical")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require_int(cfg: DictConfig, key: str, low: int, high: int | None = None, hint: str = "") -> None:
    value = OmegaConf.select(cfg, key)
    ok = _is_int(value) and value >= low and (high is None or value <= high)
    if not ok:
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise UserError(f"invalid value for '{key}': {value!r}; it must be an integer {bound}{hint}")


def _check_search_space(cfg: DictConfig) -> None:
    space = OmegaConf.select(cfg, "classifier.search_space") or {}
    for name, spec in space.items():
        key = f"classifier.search_space.{name}"
        kind = spec.get("type") if isinstance(spec, DictConfig) else None
        if kind not in SEARCH_TYPES:
            raise UserError(f"invalid value for '{key}.type': {kind!r}; allowed values: {', '.join(SEARCH_TYPES)}")
        if kind == "categorical":
            if not spec.get("choices"):
                raise UserError(f"'{key}' needs a non-empty 'choices' list, e.g. {key}.choices=[a,b]")
        elif spec.get("low") is None or spec.get("high") is None or not spec.low <= spec.high:
            raise UserError(f"'{key}' needs numbers low <= high, got low={spec.get('low')!r} high={spec.get('high')!r}")


def validate_config(cfg: DictConfig) -> None:
    """Raise UserError for the first invalid value in ``cfg``; return None when all is well."""
    _require_int(cfg, "bpp", *BPP_RANGE, hint=" (target rate x 100: 6 means 0.06 bit per pixel)")
    for key, allowed in CHOICES.items():
        value = cfg.get(key)
        if value not in allowed:
            raise UserError(f"invalid value for '{key}': {value!r}; allowed values: {', '.join(allowed)}")
    _require_int(cfg, "seed", 0)
    _require_int(cfg, "n_jobs", -1)
    _require_int(cfg, "extract.chunk_size", 1)
    _require_int(cfg, "extract.num_shards", 1)
    _require_int(cfg, "extract.shard", 0, cfg.extract.num_shards - 1, hint=" (shard < num_shards)")
    _require_int(cfg, "tuning.n_trials", 0)
    _require_int(cfg, "tuning.cv_folds", 2)
    timeout = cfg.tuning.timeout
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise UserError(f"invalid value for 'tuning.timeout': {timeout!r}; use a positive number of seconds or null")
    for latent, codec in (OmegaConf.select(cfg, "extract.codecs") or {}).items():
        if codec not in CODECS:
            raise UserError(f"invalid value for 'extract.codecs.{latent}': {codec!r}; allowed values: {', '.join(CODECS)}")
    stream = cfg.classifier.get("stream_from_cache")
    if stream is not None and not isinstance(stream, bool):
        raise UserError(f"invalid value for 'classifier.stream_from_cache': {stream!r}; use true or false")
    _check_search_space(cfg)
