"""A classifier option (``conf/classifier/<name>.yaml``): its estimator, search space and fold backend.

The YAML's ``_target_`` is :class:`Classifier`; its ``estimator`` and ``tuning_backend`` carry their own
``_target_`` with ``_partial_: true``, so ``instantiate`` hands over callables with the fixed
parameters bound, and a trial's parameters are applied by calling them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jpegai_fd.classifiers.backend import EstimatorFolds
from jpegai_fd.classifiers.constraints import check_classifier
from jpegai_fd.errors import UserError


class Classifier:
    """``name``: the option's label (run tags); ``estimator(**params)`` -> a fresh unfitted estimator,
    ``params`` overriding its fixed values; ``search_space``: {param: {type: int|float, low, high, log}
    or {type: categorical, choices}}; ``tuning_backend(classifier=, features=, scoring=)`` -> how a
    fold is fitted and scored (default :class:`~jpegai_fd.classifiers.backend.EstimatorFolds`);
    ``stream_from_cache``: hand the estimator the cached latents, read batch by batch, instead of
    the flatten matrix (cnn).

    Building one checks the fixed parameters and both bounds (or every choice) of each search-space
    entry against the estimator's own ``_parameter_constraints`` (UserError, one line)."""

    def __init__(
        self,
        name: str,
        estimator: Callable[..., Any],
        search_space: dict | None = None,
        tuning_backend: Callable[..., Any] | None = None,
        stream_from_cache: bool = False,
    ):
        if not isinstance(stream_from_cache, bool):
            raise UserError(
                f"invalid value for 'classifier.stream_from_cache': {stream_from_cache!r}; use true or false"
            )
        self.name, self.estimator = name, estimator
        self.search_space = dict(search_space or {})
        self.tuning_backend, self.stream_from_cache = tuning_backend, stream_from_cache
        fixed = estimator.keywords if isinstance(estimator, functools.partial) else {}
        check_classifier(self.estimator_class, fixed, self.search_space)

    def make(self, params: dict | None = None):
        """A fresh, unfitted estimator with ``params`` overriding its fixed values."""
        return self.estimator(**(params or {}))

    @property
    def estimator_class(self) -> type:
        return self.estimator.func if isinstance(self.estimator, functools.partial) else self.estimator

    @property
    def needs_whole_latents(self) -> bool:
        """Declared by the estimator class (``needs_whole_latents = True``: it reads (C, H, W) latents)."""
        return bool(getattr(self.estimator_class, "needs_whole_latents", False))

    def fold_scorer(self, features, scoring: str):
        """The tuning backend built for one study: called ``backend(params, fit_idx, val_idx) -> score``."""
        backend = self.tuning_backend or EstimatorFolds
        return backend(classifier=self, features=features, scoring=scoring)
