"""Command-line plumbing shared by the entry points: check every override before Hydra starts work.

Hydra reports a bad group option or key after it has started a sweep and as a multi-line message.
``preflight(argv)`` composes the config of every job of a sweep (as Hydra's basic sweeper expands
it), builds its components and checks the rules they declare, so that ``preprocess=foo``, ``bpp=0``
or ``classifier=cnn`` swept with ``preprocess=single`` fail before any job runs, with one line naming
the key and what it takes. Only Hydra's public API is used: its documented flags, its override parser,
the compose API and the errors' own fields (never their text). ``launch(task)`` runs the preflight
and then the Hydra app.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException, ValidationError

from jpegai_fd import schema
from jpegai_fd.errors import Incompatible, UserError
from jpegai_fd.sweep_plan import expand, swept_keys
from jpegai_fd.tracking.sweep import STATE_DIR, sweep_key

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
log = logging.getLogger(__name__)


def _omegaconf_cause(exc: BaseException) -> OmegaConfBaseException | None:
    """The OmegaConf error behind a Hydra composition error: it names the key (``full_key``)."""
    while exc is not None and not isinstance(exc, OmegaConfBaseException):
        exc = exc.__cause__
    return exc


def composition_error(exc: ConfigCompositionException, overrides: list[str], shown: str) -> UserError:
    """One line for an override Hydra refused: a value of the wrong type (the schema's words for what
    the key takes) or an unknown key (and the override that named it)."""
    cause = _omegaconf_cause(exc)
    key = getattr(cause, "full_key", None) or ""

    def named(match) -> str:  # the override that set the key (several may be shown at once)
        return next((o for o in overrides if match(o.lstrip("+~").partition("=")[0])), shown)

    if isinstance(cause, ValidationError) and key:
        value = getattr(cause, "value", None)
        value = named(lambda k: k == key).partition("=")[2] if value is None else value
        return UserError(f"invalid value for '{key}': {value!r}; {schema.allowed(key) or str(cause).splitlines()[0]}")
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and key:
        line = named(lambda k: k == key or k.startswith(key + "."))
        return UserError(
            f"unknown config key '{key}' in '{line}'; check the spelling "
            f"(python -m jpegai_fd --cfg job lists the keys) or add a new key with +{line}"
        )
    return UserError(f"{shown}: {str(exc).splitlines()[0]}")


def _compose_checked(config_name: str, overrides: list[str], shown: str) -> DictConfig:
    try:
        cfg = compose(config_name=config_name, overrides=overrides)
    except MissingConfigException as exc:
        # Hydra names the file it missed (group/option) and the group's options.
        group, _, option = str(exc.missing_cfg_file or "").rpartition("/")
        if group and exc.options:
            allowed = ", ".join(exc.options)
            raise UserError(f"invalid value for '{group}': {option!r}; allowed values: {allowed}") from exc
        raise UserError(f"{shown}: {str(exc).splitlines()[0]}") from exc
    except ConfigCompositionException as exc:
        raise composition_error(exc, overrides, shown) from exc
    # Imported here, not at the top: a typo above fails before zarr, torch and scikit-learn load.
    from jpegai_fd import components
    from jpegai_fd.validation import validate_config

    validate_config(cfg)
    components.check_compatible(components.build(cfg), cfg.bpp)  # the rules the components declare
    return cfg


def parse_command_line(argv: list[str]) -> argparse.Namespace:
    """Hydra's documented command-line flags (``python -m jpegai_fd --hydra-help``), parsed to know what
    the command will do; everything else is an override. Hydra itself parses them again."""
    parser = argparse.ArgumentParser(add_help=False)
    for flags in (
        ("--help", "-h"),
        ("--hydra-help",),
        ("--version",),
        ("--resolve",),
        ("--run", "-r"),
        ("--multirun", "-m"),
        ("--shell-completion", "-sc"),
    ):
        parser.add_argument(*flags, action="store_true")
    for flags in (
        ("--cfg", "-c"),
        ("--package", "-p"),
        ("--config-path", "-cp"),
        ("--config-name", "-cn"),
        ("--config-dir", "-cd"),
        ("--experimental-rerun",),
    ):
        parser.add_argument(*flags)
    parser.add_argument("--info", "-i", nargs="?", const="all")
    parser.add_argument("overrides", nargs="*")
    args, _ = parser.parse_known_args(argv)
    args.informational = bool(args.help or args.hydra_help or args.version or args.shell_completion or args.info)
    return args


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
        raise UserError(
            f"hydra.sweep.dir={folder} already holds a sweep ({found}); give a new folder, or leave "
            f"hydra.sweep.dir out (the default folder is new for every sweep); tracking.resume=true "
            f"may rerun that same sweep there"
        )


def preflight(argv: list[str], config_name: str = "config") -> DictConfig | None:
    """Compose and validate the config of every job ``argv`` would run (with ``-m``: every job of the
    sweep, the experiment's swept factors included), build its components and check the rules they
    declare; return the config of the first job (None for ``--help`` and the like).

    Raises UserError on the first problem. Hydra's own keys (``hydra...``) are left to Hydra.
    """
    args = parse_command_line(argv)
    if args.informational:
        return None
    try:
        parsed = OverridesParser.create().parse_overrides(args.overrides)
    except OverrideParseException as exc:
        raise UserError(f"cannot parse the override: {str(exc).splitlines()[0]}") from exc
    ours = [o.input_line for o in parsed if not o.key_or_group.startswith("hydra")]
    search = [o.input_line for o in parsed if o.key_or_group == "hydra.searchpath"]
    if args.config_dir:  # --config-dir adds a folder beside conf/ (options of your own, README "Extending")
        search.append(f"hydra.searchpath=[file://{Path(args.config_dir).resolve()}]")
    name = args.config_name or config_name
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        first = [
            line.partition("=")[0] + "=" + next(iter(o.sweep_string_iterator())) if o.is_sweep_override() else line
            for line, o in zip(ours, [p for p in parsed if not p.key_or_group.startswith("hydra")])
        ]
        if not args.multirun:
            cfg = _compose_checked(name, [*search, *first], " ".join(first) or "(defaults)")
        else:
            cfg = _check_sweep(name, search, ours)
            given = [
                o.input_line
                for o in parsed
                if o.key_or_group.startswith("hydra") and o.key_or_group != "hydra.searchpath"
            ]
            if any(o.key_or_group == "hydra.sweep.dir" for o in parsed):
                _check_sweep_dir(name, [*search, *given, *first], ours)
    GlobalHydra.instance().clear()
    return cfg


def _check_sweep(name: str, search: list[str], ours: list[str]) -> DictConfig:
    """Every job of the sweep, composed and checked as Hydra's sweeper will launch it; returns job 0's config."""
    fixed = [o.input_line for o in OverridesParser.create().parse_overrides(ours) if not o.is_sweep_override()]
    try:
        params = compose(config_name=name, overrides=[*search, *fixed], return_hydra_config=True).hydra.sweeper.params
    except Exception:  # noqa: BLE001  (the first job composed: anything wrong here is Hydra's to report)
        params = None
    jobs = expand([f"{k}={v}" for k, v in (params or {}).items()] + ours)
    swept = swept_keys(jobs)
    first = None
    for i, job in enumerate(jobs):
        shown = " ".join(o for o in job if o.partition("=")[0] in swept) or " ".join(job) or "(defaults)"
        try:
            cfg = _compose_checked(name, [*search, *job], shown)
            first = cfg if first is None else first
        except Incompatible as exc:
            if len(jobs) == 1:
                raise
            raise Incompatible(
                f"{exc}; this sweep combines {shown} (its job {i}, counting from 0, of {len(jobs)}): "
                f"sweep those values separately"
            ) from exc
    return first


def legacy_experiment(arg: str) -> str:
    """``+experiment=X`` (before the defaults list had an experiment slot) -> ``experiment=X``."""
    return arg[1:] if arg.startswith("+experiment=") else arg


def with_callback_params(argv: list[str], extra: list[str]) -> None:
    """Insert the overrides ``extra`` into ``argv`` (in place) beside the user's overrides: Hydra's
    parser takes overrides as one block of positional arguments (``a=1 b=2 --cfg job``, not after it)."""
    at = next((i for i, a in enumerate(argv[1:], 1) if "=" in a and not a.startswith("-")), 1)
    argv[at:at] = extra


def launch(task: Callable[[DictConfig], object], config_name: str = "config", tracked: bool = True) -> None:
    """Run ``task`` as a Hydra app over ``conf/`` after checking the command line.

    ``tracked``: the task logs to MLflow, so the tracking server must answer before anything starts,
    and a multirun gets a parent run. In a multirun a failing job is recorded (run FAILED, error in
    its ``results.json``) and the other jobs go on; the exit code is 1 when any job failed.
    """
    from jpegai_fd.tracking.connection import check_tracking_uri

    # The defaults list has an experiment slot (experiment: null); the older spelling +experiment=
    # would add a second one, so it is read as experiment=.
    sys.argv = [legacy_experiment(a) for a in sys.argv]
    try:
        cfg = preflight(sys.argv[1:], config_name)
        if tracked and cfg is not None:
            check_tracking_uri(cfg.tracking.uri)
    except UserError as exc:
        print(f"jpegai_fd: error: {exc}", file=sys.stderr)
        sys.exit(2)
    # MLflow and the job's stages load only once the command line is known to be good.
    from jpegai_fd.tracking import interrupts, sweep_callback
    from jpegai_fd.tracking.sweep import hydra_job, job_output_dir, record_failure, record_interrupt

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

    # The sweep callback's parameters, as command-line overrides: whether it tracks, and the file where
    # it reports the sweep's state back to this process.
    fd, report = tempfile.mkstemp(prefix="jpegai_fd_sweep_", suffix=".json")
    os.close(fd)
    with_callback_params(
        sys.argv,
        [
            f"hydra.callbacks.sweep_run.tracked={str(tracked).lower()}",
            f"hydra.callbacks.sweep_run.report_file={report}",
        ],
    )
    interrupts.install()
    try:
        hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)(guarded)()
    except KeyboardInterrupt as exc:
        code = _interrupted(exc, tracked, sweep_callback.read_report(report))
        Path(report).unlink(missing_ok=True)
        sys.exit(code)
    done = sweep_callback.read_report(report)
    Path(report).unlink(missing_ok=True)
    offline = done.get("offline_jobs") or []
    if offline or done.get("parent_open"):
        print(
            f"jpegai_fd: warning: the tracking server was lost during the sweep; {len(offline)} job(s) kept their "
            f"results only in their output folders (first: job {offline[0]['job'] if offline else '-'}); "
            f"once the server is back run: python -m jpegai_fd.sync {done['sweep_dir']}",
            file=sys.stderr,
        )
    if done.get("failed"):
        first = done["failed_jobs"][0]
        print(
            f"jpegai_fd: error: {done['failed']} job(s) of the sweep failed (first: job {first['job']}"
            f"{' ' + first['overrides'] if first.get('overrides') else ''}: "
            f"{first['error'].splitlines()[0]}); their runs are FAILED in MLflow with an 'error' tag, "
            f"details in {done['sweep_dir']}/*/results.json",
            file=sys.stderr,
        )
        sys.exit(1)
    if done.get("killed"):
        print(
            f"jpegai_fd: error: {done['killed']} job(s) of the sweep were interrupted (SIGINT/SIGTERM); their runs "
            "are KILLED; rerun with tracking.resume=true to run them again",
            file=sys.stderr,
        )
        sys.exit(1)


def _interrupted(exc: KeyboardInterrupt, tracked: bool, report: dict) -> int:
    """Ctrl-C or SIGTERM in the launching process: end the runs, print one line, exit code 130."""
    from jpegai_fd.tracking import sweep_callback

    done = sweep_callback.abort(exc, report)
    if not tracked:
        print("jpegai_fd: interrupted; rerun the same command to continue where it stopped", file=sys.stderr)
    elif done["error"]:
        print(
            f"jpegai_fd: interrupted; the tracking server did not answer ({done['error']}), so runs may still "
            f"show RUNNING: run python -m jpegai_fd.sync {done['sweep_dir'] or 'OUTPUT_DIR'} once it is back",
            file=sys.stderr,
        )
    else:
        print(
            "jpegai_fd: interrupted; runs marked KILLED; rerun with tracking.resume=true to continue", file=sys.stderr
        )
    return 130
