"""The first trial of a fresh search: the classifier's fixed parameters.

With a few hundred training images and a handful of trials, a search that starts from random points
can end on parameters worse than the fixed ones it was meant to improve (README demo: 5 random
trials scored 0.57 where the fixed parameters scored 0.72). Evaluating the fixed parameters first
means the search's best CV score is never below theirs.
"""

from __future__ import annotations


def _in_space(value, spec):
    """``value`` as the space would propose it, or None when the space cannot propose it. A fixed
    ``None`` (no limit, e.g. ``max_depth``) becomes the top of a numeric range: the closest it has."""
    if spec["type"] == "categorical":
        return value if value in list(spec["choices"]) else None
    cast = int if spec["type"] == "int" else float
    if value is None:
        return cast(spec["high"])
    if isinstance(value, bool) or not isinstance(value, (int, float)) or cast(value) != value:
        return None
    return cast(value) if cast(spec["low"]) <= value <= cast(spec["high"]) else None


def fixed_start(classifier) -> dict:
    """Search-space parameters set to the values the fixed estimator uses (its config, else the
    estimator's own defaults); parameters the space cannot express are left to the sampler."""
    fixed = classifier.make().get_params()  # a Classifier (jpegai_fd.classifiers.spec)
    start = {}
    for name, spec in (classifier.search_space or {}).items():
        value = _in_space(fixed.get(name), spec) if name in fixed else None
        if value is not None:
            start[name] = value
    return start


def enqueue_fixed_start(study, classifier) -> None:
    """Queue :func:`fixed_start` as the first trial of ``study`` if it has no trials yet."""
    if not study.get_trials(deepcopy=False):
        study.enqueue_trial(fixed_start(classifier), skip_if_exists=True)
