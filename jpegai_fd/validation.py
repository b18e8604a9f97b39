"""Checks on a composed config, before any work: the schema's rules, then the rules between keys.

``validate_config(cfg)`` raises :class:`UserError` naming the first bad key and what it takes. Types,
ranges and choices of single keys are the schema's (:mod:`jpegai_fd.schema`); this module holds the
rules that tie keys together. Each group's own keys are checked by the component that reads them
when :mod:`jpegai_fd.components` builds it. It runs from the command line (on every job of a sweep)
and from ``run_job``, so the compose API gets the same guarantees.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from jpegai_fd import schema
from jpegai_fd.components import extract_settings
from jpegai_fd.errors import UserError

SEARCH_TYPES = ("int", "float", "categorical")


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
    schema.check(cfg)
    extract_settings(cfg)  # its rule: shard < num_shards
    stream = cfg.classifier.get("stream_from_cache")
    if stream is not None and not isinstance(stream, bool):
        raise UserError(f"invalid value for 'classifier.stream_from_cache': {stream!r}; use true or false")
    _check_search_space(cfg)
