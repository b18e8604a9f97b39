"""The jobs of a sweep, expanded the way Hydra's basic sweeper does, through Hydra's public override API.

``hydra.sweeper.params`` come first, then the command line, whose override of a key replaces that
key's values in place; the jobs are the Cartesian product in that order (job 0 takes every first value).
Used by the command line's preflight (every job is checked before any runs) and ``multirun_sweeps/plan.py``.
"""

from __future__ import annotations

import itertools

from hydra.core.override_parser.overrides_parser import OverridesParser


def expand(lines: list[str]) -> list[list[str]]:
    """The jobs of the override ``lines`` (sweeps as ``key=a,b``): one ``key=value`` list each."""
    choices: dict[str, list[str]] = {}
    for o in OverridesParser.create().parse_overrides(lines):
        key = o.get_key_element()
        values = list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.get_value_element_as_str()]
        choices[key] = [f"{key}={v}" for v in values]
    return [list(job) for job in itertools.product(*choices.values())]


def swept_keys(jobs: list[list[str]]) -> set[str]:
    """The keys whose value differs between jobs."""
    values: dict[str, set[str]] = {}
    for job in jobs:
        for line in job:
            key, _, value = line.partition("=")
            values.setdefault(key, set()).add(value)
    return {k for k, v in values.items() if len(v) > 1}
