"""Checks of ``classifier.*`` and ``tuning.scoring`` against the libraries' own rules.

Fixed parameters (``classifier.estimator.*``) and both bounds (or every choice) of each search-space
entry must be values the estimator accepts (its ``_parameter_constraints``, see
:mod:`jpegai_fd.classifiers.constraints`); the scorer must be one scikit-learn knows.
"""

from __future__ import annotations

import difflib

from omegaconf import DictConfig, OmegaConf

from jpegai_fd.classifiers.constraints import check_estimator_params, check_known, check_parameter
from jpegai_fd.errors import UserError

SEARCH_TYPES = ("int", "float", "categorical")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_scoring(scoring) -> None:
    """``tuning.scoring`` must be a scikit-learn scorer name; the error lists the close ones."""
    from sklearn.metrics import get_scorer_names

    names = get_scorer_names()
    if scoring in names:
        return
    close = difflib.get_close_matches(str(scoring), names, n=5, cutoff=0.5)
    if close:  # the whole list is ~60 names: show the likely ones
        raise UserError(
            f"invalid value for 'tuning.scoring': {scoring!r}; did you mean {', '.join(close)}? "
            f"(allowed: any of sklearn.metrics.get_scorer_names(), e.g. accuracy, roc_auc, f1)"
        )
    raise UserError(
        f"invalid value for 'tuning.scoring': {scoring!r}; allowed values (scikit-learn scorers): {', '.join(names)}"
    )


def _check_bounds(cls, name: str, spec: DictConfig, key: str) -> None:
    kind = spec.type
    if kind == "categorical":
        choices = spec.get("choices")
        if not choices or not OmegaConf.is_list(choices):
            raise UserError(f"'{key}' needs a non-empty 'choices' list, e.g. {key}.choices=[a,b]")
        for i, choice in enumerate(OmegaConf.to_container(choices, resolve=True)):
            check_parameter(cls, name, choice, f"{key}.choices[{i}]")
        return
    low, high = spec.get("low"), spec.get("high")
    number = _is_int if kind == "int" else _is_number
    for bound, value in (("low", low), ("high", high)):
        if not number(value):
            raise UserError(
                f"invalid value for '{key}.{bound}': {value!r}; a {kind} search needs "
                f"{'an integer' if kind == 'int' else 'a number'} bound"
            )
    if not low <= high:
        raise UserError(f"'{key}' needs low <= high, got low={low!r} high={high!r}")
    for bound, value in (("low", low), ("high", high)):
        check_parameter(cls, name, int(value) if kind == "int" else float(value), f"{key}.{bound}")
    if spec.get("log", False) and low <= 0:
        raise UserError(f"invalid value for '{key}.low': {low!r}; a log-scale search (log: true) needs low > 0")


def check_classifier(classifier: DictConfig) -> None:
    """Fixed parameters and the search space of ``classifier`` (resolved config node)."""
    estimator = OmegaConf.to_container(classifier.estimator, resolve=True)
    cls = check_estimator_params(estimator.get("_target_"), estimator)
    for name, spec in (classifier.get("search_space") or {}).items():
        key = f"classifier.search_space.{name}"
        kind = spec.get("type") if isinstance(spec, DictConfig) else None
        if kind not in SEARCH_TYPES:
            raise UserError(f"invalid value for '{key}.type': {kind!r}; allowed values: {', '.join(SEARCH_TYPES)}")
        check_known(cls, str(name), key)
        _check_bounds(cls, str(name), spec, key)
