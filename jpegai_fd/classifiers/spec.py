"""A classifier option (``conf/classifier/<name>.yaml``): its estimator, search space and fold backend."""

import functools
from collections.abc import Callable
from typing import Any

from jpegai_fd.classifiers.backend import EstimatorFolds
from jpegai_fd.classifiers.constraints import check_classifier
from jpegai_fd.errors import UserError


class Classifier:
    """``estimator(**params)`` (a partial with the fixed parameters) -> a fresh estimator; the other keys are
    described in conf/classifier/*.yaml. Checked against the estimator when built."""

    def __init__(
        self,
        name: str,
        estimator: Callable[..., Any],
        search_space: dict | None = None,
        tuning_backend: Callable[..., Any] | None = None,
        stream_from_cache: bool = False,
        file_properties: bool = False,
    ):
        for key, value in (("stream_from_cache", stream_from_cache), ("file_properties", file_properties)):
            if not isinstance(value, bool):
                raise UserError(f"invalid value for 'classifier.{key}': {value!r}; use true or false")
        self.name, self.estimator, self.search_space = name, estimator, dict(search_space or {})
        self.tuning_backend, self.stream_from_cache = tuning_backend, stream_from_cache
        self.file_properties = file_properties
        fixed = estimator.keywords if isinstance(estimator, functools.partial) else {}
        check_classifier(self.estimator_class, fixed, self.search_space)

    def make(self, params: dict | None = None):
        return self.estimator(**(params or {}))

    @property
    def estimator_class(self) -> type:
        return self.estimator.func if isinstance(self.estimator, functools.partial) else self.estimator

    @property
    def needs_whole_latents(self) -> bool:
        return bool(getattr(self.estimator_class, "needs_whole_latents", False))

    def fold_scorer(self, features, scoring: str):
        return (self.tuning_backend or EstimatorFolds)(classifier=self, features=features, scoring=scoring)
