"""Build the named perturbation conditions of a config list (``robustness.conditions``).

Takes plain values (``OmegaConf.to_container(cfg.robustness.conditions, resolve=True)``): a mapping
condition name -> ``{"_target_": "jpegai_fd.perturb.JPEGRecompress", "quality": 75}``.
"""

from __future__ import annotations

from collections.abc import Mapping

from hydra.utils import instantiate

from jpegai_fd.errors import UserError
from jpegai_fd.perturb.base import Perturbation


def _user_error_in(exc: BaseException) -> UserError | None:
    """The UserError that ``instantiate`` wrapped (it re-raises constructor errors as its own type)."""
    while exc is not None:
        if isinstance(exc, UserError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


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
            condition = instantiate(dict(spec))
        except Exception as exc:
            inner = _user_error_in(exc)
            detail = str(inner) if inner else str(exc).splitlines()[0]
            raise UserError(f"'{where}': {detail}") from exc
        if not isinstance(condition, Perturbation):
            raise UserError(
                f"'{where}._target_' ({spec['_target_']}) is not a perturbation; use a class of jpegai_fd.perturb"
            )
        digest = condition.digest()
        if digest in seen:
            raise UserError(f"'{where}' is the same condition as '{key}.{seen[digest]}'; remove one of them")
        seen[digest] = str(name)
        out[str(name)] = condition
    return out
