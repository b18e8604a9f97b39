"""List the jobs a sweep would launch, without running any: ``python multirun_sweeps/plan.py ARGS``.

ARGS are those of ``python -m jpegai_fd -m ARGS`` (e.g. ``experiment=thesis_grid classifier=hgb``).
The expansion is the basic sweeper's (:func:`jpegai_fd.config.expand`, also what the command line checks
before any work): the experiment's ``hydra.sweeper.params`` first, then the command line, which replaces
a swept factor of the same name. Prints one line per job and the count.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser

import jpegai_fd  # noqa: F401  (registers the config schema and resolvers that conf/ needs)
from jpegai_fd.config import expand

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


def plan(args: list[str]) -> list[list[str]]:
    """The override list of every job of ``python -m jpegai_fd -m args``, in launch order."""
    parser = OverridesParser.create()
    fixed = [o.input_line for o in parser.parse_overrides(args) if not o.is_sweep_override()]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=fixed, return_hydra_config=True)
    params = [f"{k}={v}" for k, v in (cfg.hydra.sweeper.params or {}).items()]
    return expand(params + args)


if __name__ == "__main__":
    jobs = plan(sys.argv[1:])
    for i, job in enumerate(jobs):
        print(f"{i:3d}  {' '.join(job)}")
    print(f"{len(jobs)} jobs")
