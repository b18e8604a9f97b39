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
    kind = spec["type"]
    if kind in ("int", "float"):
        low, high = (
            (int(spec["low"]), int(spec["high"])) if kind == "int" else (float(spec["low"]), float(spec["high"]))
        )
        if value is None:
            return high
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if kind == "int" and value != int(value):
            return None
        return (int(value) if kind == "int" else float(value)) if low <= value <= high else None
    choices = list(spec["choices"])
    return value if value in choices else None


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
