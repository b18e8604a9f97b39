"""Command-line plumbing shared by the entry points: check every override before Hydra starts work.

Hydra reports a bad group option or key after it has started a sweep and as a multi-line message.
``preflight(argv)`` composes the config once per value of every swept override, so that
``preprocess=foo`` or ``bpp=0`` fail before any job runs, with one line naming the key and its
allowed values. ``launch(task)`` runs the preflight and then the Hydra app.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Callable

import hydra
from hydra import compose, initialize_config_dir
from hydra._internal.utils import get_args_parser
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig

from jpegai_fd.errors import UserError
from jpegai_fd.tracking.sweep import STATE_DIR, sweep_key
from jpegai_fd.validation import validate_config

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
log = logging.getLogger(__name__)


def _group_options(group: str) -> list[str]:
    loader = GlobalHydra.instance().config_loader()
    return sorted(loader.get_group_options(group))


def _compose_checked(config_name: str, overrides: list[str], shown: str) -> DictConfig:
    try:
        cfg = compose(config_name=config_name, overrides=overrides)
    except MissingConfigException as exc:
        group, _, option = shown.lstrip("+~").partition("=")
        options = _group_options(group) if GlobalHydra.instance().is_initialized() else []
        if options:
            raise UserError(f"invalid value for '{group}': {option!r}; allowed values: {', '.join(options)}") from exc
        raise UserError(f"{shown}: {str(exc).splitlines()[0]}") from exc
    except ConfigCompositionException as exc:
        first = str(exc).splitlines()[0]
        if "not in struct" in str(exc) or "Could not override" in first:
            # ``shown`` may hold several overrides: name the one Hydra refused.
            named = re.search(r"Could not override '([^']+)'", first)
            key = named.group(1) if named else shown.lstrip("+~").partition("=")[0]
            line = next((o for o in shown.split() if o.lstrip("+~").partition("=")[0] == key), shown)
            raise UserError(f"unknown config key '{key}' in '{line}'; check the spelling "
                            f"(python -m jpegai_fd --cfg job lists the keys) or add a new key with +{line}") from exc
        raise UserError(f"{shown}: {first}") from exc
    validate_config(cfg)
    return cfg


def _same_sweep_resumed(folder: Path, task: list[str], resume: bool) -> bool:
    """True when ``tracking.resume=true`` reruns the very sweep (same overrides) that ``folder`` holds."""
    from omegaconf import OmegaConf

    try:
        before = list(OmegaConf.load(folder / "multirun.yaml").hydra.overrides.task)
    except Exception:  # noqa: BLE001  (no or unreadable multirun.yaml: not provably the same sweep)
        return False
    return resume and sweep_key(before) == sweep_key(task)


def _check_sweep_dir(config_name: str, overrides: list[str], task: list[str]) -> None:
    """Refuse a given ``hydra.sweep.dir`` that already holds a sweep: its jobs would attach to the
    other sweep's parent run and overwrite its jobs' ``results.json``; only ``tracking.resume=true``
    on the same sweep may continue there. (The default folder is new for every launching process, see
    ``${launch_id:}`` in conf/config.yaml.)"""
    try:
        cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
        folder = Path(str(cfg.hydra.sweep.dir))
        resume = cfg.tracking.resume is True
    except Exception:  # noqa: BLE001  (a bad hydra override: Hydra itself reports it next)
        return
    marks = [folder / "multirun.yaml", folder / STATE_DIR]  # Hydra's and ours, written when a sweep starts
    found = next((m for m in marks if m.exists()), None)
    if found is not None and not _same_sweep_resumed(folder, task, resume):
        raise UserError(f"hydra.sweep.dir={folder} already holds a sweep ({found}); give a new folder, or leave "
                        f"hydra.sweep.dir out (the default folder is new for every sweep); tracking.resume=true "
                        f"may rerun that same sweep there")


def preflight(argv: list[str], config_name: str = "config") -> DictConfig | None:
    """Compose and validate the config for each value of each override in ``argv``; return the config
    of the first job (None for ``--help`` and the like).

    Raises UserError on the first problem. Hydra's own keys (``hydra...``) are left to Hydra.
    """
    args, _ = get_args_parser().parse_known_args(argv)
    if args.help or args.hydra_help or args.shell_completion or args.info:
        return None
    try:
        parsed = OverridesParser.create().parse_overrides(args.overrides)
    except OverrideParseException as exc:
        raise UserError(f"cannot parse the override: {str(exc).splitlines()[0]}") from exc
    ours = [o for o in parsed if not o.key_or_group.startswith("hydra")]

    def as_line(o, value: str) -> str:
        return f"{o.get_key_element()}={value}"

    first = [as_line(o, next(iter(o.sweep_string_iterator()))) if o.is_sweep_override() else o.input_line
             for o in ours]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(args.config_dir or CONF_DIR), version_base="1.3"):
        cfg = _compose_checked(args.config_name or config_name, first, " ".join(first) or "(defaults)")
        for i, o in enumerate(ours):
            if not o.is_sweep_override():
                continue
            for value in o.sweep_string_iterator():
                line = as_line(o, value)
                _compose_checked(args.config_name or config_name, first[:i] + [line] + first[i + 1:], line)
        given = [o.input_line for o in parsed if o.key_or_group.startswith("hydra")]
        if args.multirun and any(o.key_or_group == "hydra.sweep.dir" for o in parsed):
            _check_sweep_dir(args.config_name or config_name, given + first, [o.input_line for o in ours])
    GlobalHydra.instance().clear()
    return cfg


def launch(task: Callable[[DictConfig], object], config_name: str = "config", tracked: bool = True) -> None:
    """Run ``task`` as a Hydra app over ``conf/`` after checking the command line.

    ``tracked``: the task logs to MLflow, so the tracking server must answer before anything starts,
    and a multirun gets a parent run. In a multirun a failing job is recorded (run FAILED, error in
    its ``results.json``) and the other jobs go on; the exit code is 1 when any job failed.
    """
    from jpegai_fd.tracking import interrupts, record_failure, sweep_callback
    from jpegai_fd.tracking.connection import check_tracking_uri
    from jpegai_fd.tracking.sweep import hydra_job, job_output_dir, record_interrupt

    sweep_callback.ENABLED = tracked
    try:
        cfg = preflight(sys.argv[1:], config_name)
        if tracked and cfg is not None:
            check_tracking_uri(cfg.tracking.uri)
    except UserError as exc:
        print(f"jpegai_fd: error: {exc}", file=sys.stderr)
        sys.exit(2)
    launcher_pid = os.getpid()  # jobs in this process (basic launcher) stop the sweep on Ctrl-C; workers report it

    def guarded(cfg: DictConfig):
        in_sweep = hydra_job() is not None
        in_launcher = os.getpid() == launcher_pid
        handlers = None if in_launcher else interrupts.install()  # SIGTERM too ends the job's run KILLED
        try:
            return task(cfg)
        except KeyboardInterrupt as exc:
            record_interrupt(exc, job_output_dir())
            if in_launcher:
                raise
            log.warning("job interrupted (%s); its run is KILLED", exc or "SIGINT")
            return None
        except Exception as exc:
            record_failure(exc, job_output_dir())  # results.json, and the traceback in error.txt
            if not in_sweep and not isinstance(exc, UserError):
                raise
            if not in_sweep:
                print(f"jpegai_fd: error: {exc}", file=sys.stderr)
                sys.exit(2)
            # Once: the job's log line (console and the job's log file); the launching process then
            # prints one line for the whole sweep.
            log.error("job failed: %s: %s", type(exc).__name__, exc)
            return None  # the sweep goes on; the launching process counts the failures
        finally:
            interrupts.restore(handlers)

    interrupts.install()
    try:
        hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)(guarded)()
    except KeyboardInterrupt as exc:
        sys.exit(_interrupted(exc, tracked))
    done = sweep_callback.LAST_SWEEP
    offline = done.get("offline_jobs") or []
    if offline or done.get("parent_open"):
        print(f"jpegai_fd: warning: the tracking server was lost during the sweep; {len(offline)} job(s) kept their "
              f"results only in their output folders (first: job {offline[0]['job'] if offline else '-'}); "
              f"once the server is back run: python -m jpegai_fd.sync {done['sweep_dir']}", file=sys.stderr)
    if done.get("failed"):
        first = done["failed_jobs"][0]
        print(f"jpegai_fd: error: {done['failed']} job(s) of the sweep failed (first: job {first['job']}"
              f"{' ' + first['overrides'] if first.get('overrides') else ''}: "
              f"{first['error'].splitlines()[0]}); their runs are FAILED in MLflow with an 'error' tag, "
              f"details in {done['sweep_dir']}/*/results.json", file=sys.stderr)
        sys.exit(1)
    if done.get("killed"):
        print(f"jpegai_fd: error: {done['killed']} job(s) of the sweep were interrupted (SIGINT/SIGTERM); their runs "
              "are KILLED; rerun with tracking.resume=true to run them again", file=sys.stderr)
        sys.exit(1)


def _interrupted(exc: KeyboardInterrupt, tracked: bool) -> int:
    """Ctrl-C or SIGTERM in the launching process: end the runs, print one line, exit code 130."""
    from jpegai_fd.tracking import sweep_callback

    done = sweep_callback.abort(exc)
    if not tracked:
        print("jpegai_fd: interrupted; rerun the same command to continue where it stopped", file=sys.stderr)
    elif done["error"]:
        print(f"jpegai_fd: interrupted; the tracking server did not answer ({done['error']}), so runs may still "
              f"show RUNNING: run python -m jpegai_fd.sync {done['sweep_dir'] or 'OUTPUT_DIR'} once it is back",
              file=sys.stderr)
    else:
        print("jpegai_fd: interrupted; runs marked KILLED; rerun with tracking.resume=true to continue", file=sys.stderr)
    return 130
