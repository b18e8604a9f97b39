"""Checks on a composed config, before any work: the schema's rules, then the rules Hydra cannot type.

``validate_config(cfg)`` raises :class:`UserError` naming the first bad key, its value and what is
allowed. Types, ranges and choices of single keys are the schema's (:mod:`jpegai_fd.schema`); this
module holds the rules that need more than a type: URI schemes, scikit-learn's scorer names, the
estimator's own ``_parameter_constraints`` (:mod:`jpegai_fd.validation_classifier`) and sharding.
Each group's own keys are checked by the component that reads them when :mod:`jpegai_fd.components`
builds it, and the rules between components by :func:`jpegai_fd.components.check_compatible`. It runs
from the command line (on every job of a sweep) and from ``run_job``, so the compose API gets the
same guarantees.
"""

from __future__ import annotations

from omegaconf import DictConfig

from jpegai_fd import schema
from jpegai_fd.components import extract_settings
from jpegai_fd.tracking.connection import check_scheme
from jpegai_fd.validation_classifier import check_classifier, check_scoring

STORAGE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "journal")


def validate_config(cfg: DictConfig) -> None:
    """Raise UserError for the first invalid value in ``cfg``; return None when all is well."""
    schema.check(cfg)
    extract_settings(cfg)  # its rule: shard < num_shards
    check_scoring(cfg.tuning.scoring)
    if cfg.tuning.storage is not None:
        check_scheme("tuning.storage", cfg.tuning.storage, STORAGE_SCHEMES, " or null (in memory)")
    check_scheme("tracking.uri", cfg.tracking.uri)
    check_classifier(cfg.classifier)
    if cfg.get("eval") or cfg.get("robustness") or cfg.get("eval_bpp"):  # issue 14: extra sets, conditions, rates
        from jpegai_fd.extra_eval import check_extras

        check_extras(cfg)
