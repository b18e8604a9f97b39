"""Check a classifier option's parameters and search space against the estimator's own ``_parameter_constraints`` when
the option is built: scikit-learn checks them only when ``fit`` starts, in a job after loading and extraction. Nothing
is copied: a new scikit-learn brings its own rules."""

import importlib
import re
from collections.abc import Mapping, Sequence

from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

from jpegai_fd.errors import UserError

SEARCH_TYPES = ("int", "float", "categorical")


def estimator_class(target: str, key: str = "classifier.estimator._target_") -> type:
    module, _, name = str(target).rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UserError(
            f"invalid value for '{key}': {target!r}; it must name an importable estimator class, "
            f"e.g. sklearn.ensemble.RandomForestClassifier ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(cls, type):
        raise UserError(f"invalid value for '{key}': {target!r}; it must name an estimator class")
    return cls


def _check_known(cls: type, name: str, key: str) -> None:
    names = cls._get_param_names() if hasattr(cls, "_get_param_names") else None
    if names is not None and name not in names:
        raise UserError(
            f"unknown parameter '{key}': {cls.__name__} has no parameter {name!r}; its parameters: {', '.join(names)}"
        )


def _check_value(cls: type, name: str, value, key: str) -> None:
    constraints = getattr(cls, "_parameter_constraints", {})
    if name not in constraints:
        return
    try:
        validate_parameter_constraints({name: constraints[name]}, {name: value}, caller_name=cls.__name__)
    except InvalidParameterError as exc:
        said = re.search(r" must be (.*)\. Got .* instead\.$", str(exc), flags=re.S)
        problem = f"{cls.__name__} needs {said.group(1)}" if said else str(exc).splitlines()[0]
        raise UserError(f"invalid value for '{key}': {value!r}; {problem}") from None


def _check_entry(cls: type, name: str, spec, key: str) -> None:
    """One search-space entry: its type, then both bounds (or every choice) as parameter values."""
    kind = spec.get("type") if isinstance(spec, Mapping) else None
    if kind not in SEARCH_TYPES:
        raise UserError(f"invalid value for '{key}.type': {kind!r}; allowed values: {', '.join(SEARCH_TYPES)}")
    _check_known(cls, name, key)
    if kind == "categorical":
        choices = spec.get("choices")
        if not choices or isinstance(choices, str) or not isinstance(choices, Sequence):
            raise UserError(f"'{key}' needs a non-empty 'choices' list, e.g. {key}.choices=[a,b]")
        for i, choice in enumerate(choices):
            _check_value(cls, name, choice, f"{key}.choices[{i}]")
        return
    low, high = spec.get("low"), spec.get("high")
    for bound, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, int if kind == "int" else (int, float)):
            raise UserError(
                f"invalid value for '{key}.{bound}': {value!r}; a {kind} search needs "
                f"{'an integer' if kind == 'int' else 'a number'} bound"
            )
    if not low <= high:
        raise UserError(f"'{key}' needs low <= high, got low={low!r} high={high!r}")
    for bound, value in (("low", low), ("high", high)):
        _check_value(cls, name, int(value) if kind == "int" else float(value), f"{key}.{bound}")
    if spec.get("log", False) and low <= 0:
        raise UserError(f"invalid value for '{key}.low': {low!r}; a log-scale search (log: true) needs low > 0")


def check_classifier(cls: type, fixed: dict, search_space: dict) -> None:
    """``classifier.estimator.*`` and ``classifier.search_space.*`` against estimator class ``cls``."""
    for name, value in fixed.items():
        _check_known(cls, name, f"classifier.estimator.{name}")
        _check_value(cls, name, value, f"classifier.estimator.{name}")
    for name, spec in search_space.items():
        _check_entry(cls, str(name), spec, f"classifier.search_space.{name}")
