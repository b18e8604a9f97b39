"""Checks on a composed config, before any work: the schema's rules, then the rules Hydra cannot type.

``validate_config(cfg)`` raises :class:`UserError` naming the first bad key, its value and what is
allowed. Types, ranges and choices of single keys are the schema's (:mod:`jpegai_fd.schema`); this
module holds the rules that need more than a type: URI schemes, scikit-learn's scorer names, the
estimator's ``_target_`` (its parameters are checked when the Classifier is built) and sharding.
Each group's own keys are checked by the component that reads them when :mod:`jpegai_fd.components`
builds it, and the rules between components by :func:`jpegai_fd.components.check_compatible`. It runs
from the command line (on every job of a sweep) and from ``run_job``, so the compose API gets the
same guarantees.
"""

from __future__ import annotations

import pydantic
from omegaconf import DictConfig, OmegaConf

from jpegai_fd import schema
from jpegai_fd.classifiers.constraints import estimator_class
from jpegai_fd.components import extract_settings
from jpegai_fd.errors import UserError
from jpegai_fd.tracking.connection import check_scheme
from jpegai_fd.tuning import TuningSettings


def validate_config(cfg: DictConfig) -> None:
    """Raise UserError for the first invalid value in ``cfg``; return None when all is well."""
    schema.check(cfg)
    extract_settings(cfg)  # its rule: shard < num_shards
    try:  # until config.py turns every settings error into the one-line message
        TuningSettings(**OmegaConf.to_container(cfg.tuning, resolve=True))
    except pydantic.ValidationError as exc:
        bad = exc.errors()[0]
        key, why = ".".join(map(str, ("tuning", *bad["loc"]))), bad["msg"].removeprefix("Value error, ")
        raise UserError(f"invalid value for '{key}': {bad['input']!r}; {why}") from None
    check_scheme("tracking.uri", cfg.tracking.uri)
    estimator_class(cfg.classifier.estimator.get("_target_"))  # Hydra's own error would not name the key
    if cfg.get("eval") or cfg.get("robustness") or cfg.get("eval_bpp"):  # issue 14: extra sets, conditions, rates
        from jpegai_fd.extra_eval import check_extras

        check_extras(cfg)
