"""Check an estimator's parameters against the estimator's own constraints, before any work.

scikit-learn estimators declare what each ``__init__`` parameter accepts in ``_parameter_constraints``
and check it when ``fit`` starts, which in a job is after data loading and extraction. The same
declarations are read here (the project's own estimators, lgbm and cnn, declare theirs the same way),
so nothing is copied and a new scikit-learn version brings its own rules.
"""

from __future__ import annotations

import importlib
import re

from jpegai_fd.errors import UserError

# Hydra's instantiate keys, not estimator parameters.
HYDRA_KEYS = ("_target_", "_args_", "_recursive_", "_convert_", "_partial_")


def estimator_class(target: str, key: str = "classifier.estimator._target_"):
    """The class a ``_target_`` names; UserError (one line) when it cannot be imported."""
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


def parameter_problem(cls, name: str, value) -> str | None:
    """None when ``value`` is allowed for parameter ``name`` of estimator class ``cls``, else what is
    allowed (a phrase, e.g. "an int in the range [1, inf)")."""
    from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

    constraints = getattr(cls, "_parameter_constraints", {})
    if name not in constraints:
        return None
    try:
        validate_parameter_constraints({name: constraints[name]}, {name: value}, caller_name=cls.__name__)
    except InvalidParameterError as exc:
        said = re.search(r" must be (.*)\. Got .* instead\.$", str(exc), flags=re.S)
        return f"{cls.__name__} needs {said.group(1)}" if said else str(exc).splitlines()[0]
    return None


def check_known(cls, name: str, key: str) -> None:
    """Raise UserError when ``name`` is not an ``__init__`` parameter of estimator class ``cls``."""
    names = cls._get_param_names() if hasattr(cls, "_get_param_names") else None
    if names is not None and name not in names:
        raise UserError(
            f"unknown parameter '{key}': {cls.__name__} has no parameter {name!r}; its parameters: {', '.join(names)}"
        )


def check_parameter(cls, name: str, value, key: str) -> None:
    """Raise UserError naming ``key`` when ``value`` is not allowed for parameter ``name`` of ``cls``."""
    problem = parameter_problem(cls, name, value)
    if problem is not None:
        raise UserError(f"invalid value for '{key}': {value!r}; {problem}")


def check_estimator_params(target: str, params: dict, prefix: str = "classifier.estimator") -> type:
    """Check every fixed parameter (plain values, interpolations resolved) of the estimator ``target``;
    returns its class."""
    cls = estimator_class(target, f"{prefix}._target_")
    for name, value in params.items():
        if name not in HYDRA_KEYS:
            check_known(cls, name, f"{prefix}.{name}")
            check_parameter(cls, name, value, f"{prefix}.{name}")
    return cls
