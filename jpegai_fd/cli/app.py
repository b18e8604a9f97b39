"""The command line around Hydra: :func:`main` runs a ``@hydra.main`` app; :class:`SweepRun`, its callback
(``conf/config.yaml``), checks every job first, claims the sweep folder, keeps one MLflow parent run per multirun (not
for ``jpegai_fd.extract``) and ends with the jobs' table. Exit codes: 0 done, 1 a sweep's job failed or was
interrupted, 2 a user error (one line, before any work), 130 interrupted."""

import functools
import logging
import os
import socket
import sys
import tempfile
import traceback
import contextlib
import errno
from collections import Counter
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from jpegai_fd import config as edge
from jpegai_fd.cli import slurm
from jpegai_fd.errors import UserError
from jpegai_fd.tracking import interrupts
from jpegai_fd.tracking.settings import JobPlace
from jpegai_fd.tracking.sweep import record_failure, record_interrupt

log = logging.getLogger(__name__)


def refuse(exc: BaseException) -> None:
    """End the command for ``exc``: an error the user caused is one line and exit 2, anything else a traceback and exit 1."""
    if (error := edge.one_line(exc, sys.argv[1:])) is None:
        traceback.print_exception(exc)
        sys.exit(1)
    print(f"jpegai_fd: error: {error}", file=sys.stderr)
    sys.exit(2)


def _fatal(method):
    """Hydra turns an exception in a callback into a warning and goes on; here it ends the command."""

    @functools.wraps(method)
    def checked(self, config: DictConfig, **kwargs):
        try:
            return method(self, config, **kwargs)
        except Exception as exc:  # noqa: BLE001  (each one ends the command, as refuse() says)
            refuse(exc)

    return checked


class SweepRun(Callback):
    """The launching process's view of a run or a sweep. ``active``: the sweep under way (Ctrl-C ends its runs)."""

    active = None  # the ParentRun of the multirun under way in this process
    slurm_jobs = None  # where submitit keeps the sweep's SLURM jobs (Ctrl-C cancels them), if it submits there

    @_fatal
    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        """A single job: its settings, components and tracking server, before Hydra makes its folder."""
        edge.check_job(config)
        check_outputs(config, "hydra.run.dir")
        if _tracked(config):
            from jpegai_fd.tracking.connection import check_tracking_uri

            check_tracking_uri(config.tracking.uri)

    @_fatal
    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        task = list(config.hydra.overrides.task)
        edge.check_jobs(config.hydra.job.config_name, task, config.hydra.sweeper.params)
        check_outputs(config, "hydra.sweep.dir")
        # Checked: now the heavier tracking modules may load.
        from jpegai_fd.tracking.parent import ParentRun, open_parent
        from jpegai_fd.tracking.settings import TrackingSettings
        from jpegai_fd.tracking.sweep import claim, clear_outcomes

        tracking = TrackingSettings(**OmegaConf.to_container(config.tracking, resolve=True))
        sweep_dir = Path(str(config.hydra.sweep.dir))
        claim(sweep_dir, task, tracking.resume)
        clear_outcomes(sweep_dir)
        SweepRun.slurm_jobs = slurm.submitit_root(config.hydra.launcher)
        SweepRun.active = ParentRun(sweep_dir)
        if _tracked(config):
            SweepRun.active = open_parent(tracking, task, sweep_dir, OmegaConf.to_yaml(config))

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        from jpegai_fd.tracking.parent import close_parent
        from jpegai_fd.tracking.sweep import read_outcomes
        from jpegai_fd.tracking.sweep_summary import print_sweep_summary

        parent, SweepRun.active = SweepRun.active, None
        outcomes = read_outcomes(parent.sweep_dir)
        counts = Counter(o["status"] for o in outcomes)
        print_sweep_summary(config, parent.run_id, parent.experiment_id)  # the jobs' table
        parent_open = parent.run_id is not None and not close_parent(parent, counts)
        if code := _report(outcomes, counts, parent_open, parent.sweep_dir):
            sys.exit(code)


def check_writable(path: str | Path, key: str, read_only_ok: bool = False) -> None:
    """Refuse a folder that cannot take a file (read-only, full, not permitted) before any work."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path) as probe:  # a full disk fails on the data, not the name
            probe.write(bytes(65536))
            probe.flush()  # writes it all, or raises (an unbuffered write may stop short without an error)
    except OSError as exc:
        if read_only_ok and exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return
        raise UserError(
            f"{key}={path} cannot be written ({exc.strerror}); make room or allow writes there, or set {key} to "
            "another folder"
        ) from None


def check_outputs(config: DictConfig, output_key: str) -> None:
    """The command's output folder, the cache's folder (a read-only cache is fine) and a sqlite tracking store's."""
    check_writable(OmegaConf.select(config, output_key), output_key)
    check_writable(Path(str(config.paths.cache)).absolute().parent, "paths.cache", read_only_ok=True)
    if _tracked(config) and (uri := str(config.tracking.uri)).startswith("sqlite:///"):  # the one local store
        check_writable(Path(uri.removeprefix("sqlite:///")).parent, "tracking.uri")


def _tracked(config: DictConfig) -> bool:
    return config.hydra.job.name != "extract"


def _report(outcomes: list[dict], counts: Counter, parent_open: bool, sweep_dir: Path) -> int:
    """One line per problem of the sweep on stderr; the exit code (1 when a job failed or was interrupted)."""
    offline = [o for o in outcomes if o.get("tracking_error")]
    if offline or parent_open:
        print(
            f"jpegai_fd: warning: the tracking server was lost during the sweep; {len(offline)} job(s) kept their "
            f"results only in their output folders (first: job {offline[0]['job'] if offline else '-'}); "
            f"once the server is back run: python -m jpegai_fd.cli.sync {sweep_dir}",
            file=sys.stderr,
        )
    if failed := [o for o in outcomes if o["status"] == "failed"]:
        first = failed[0]
        print(
            f"jpegai_fd: error: {len(failed)} job(s) of the sweep failed (first: job {first['job']}"
            f"{' ' + first['overrides'] if first.get('overrides') else ''}: "
            f"{first['error'].splitlines()[0]}); their runs are FAILED in MLflow with an 'error' tag, "
            f"details in {sweep_dir}/*/results.json",
            file=sys.stderr,
        )
        return 1
    if counts["killed"]:
        print(
            f"jpegai_fd: error: {counts['killed']} job(s) of the sweep were interrupted (SIGINT/SIGTERM); their "
            "runs are KILLED; rerun with tracking.resume=true to run them again",
            file=sys.stderr,
        )
        return 1
    return 0


LAUNCHER = "JPEGAI_FD_LAUNCHER_PID"  # inherited by job processes (joblib, submitit): they are not the launcher


def _this_process() -> str:
    """Host and pid: a SLURM job on another node may get the launching process's pid (containers start low)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def main(hydra_app) -> None:
    """Run ``hydra_app`` as a command line: a user error is one line and exit 2, Ctrl-C or SIGTERM exit 130."""
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises its errors to us instead of printing several lines
    os.environ[LAUNCHER] = _this_process()
    # After Ctrl-C the process pools' resource trackers (child processes) warn of leaked semaphores.
    quiet = [f"ignore::UserWarning:{m}.resource_tracker" for m in ("multiprocessing", "joblib.externals.loky.backend")]
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), *quiet]))
    interrupts.install()
    try:
        hydra_app()
    except KeyboardInterrupt as exc:
        sys.exit(_interrupted(exc))
    except Exception as exc:
        if edge.one_line(exc) is None:
            raise
        refuse(exc)


def _interrupted(exc: KeyboardInterrupt) -> int:
    """Ctrl-C or SIGTERM in the launching process: end the runs, print one line, exit code 130."""
    from jpegai_fd.tracking.parent import abort

    parent, SweepRun.active = SweepRun.active, None
    if SweepRun.slurm_jobs is not None:
        slurm.cancel_jobs(SweepRun.slurm_jobs)
    error = abort(parent, exc)
    if parent is not None and parent.run_id is None:
        print("jpegai_fd: interrupted; rerun the same command to continue where it stopped", file=sys.stderr)
    elif error:
        where = parent.sweep_dir if parent is not None else "OUTPUT_DIR"
        print(
            f"jpegai_fd: interrupted; the tracking server did not answer ({error}), so runs may still "
            f"show RUNNING: run python -m jpegai_fd.cli.sync {where} once it is back",
            file=sys.stderr,
        )
    else:
        print(
            "jpegai_fd: interrupted; runs marked KILLED; rerun with tracking.resume=true to continue", file=sys.stderr
        )
    return 130


def run(task, place: JobPlace):
    """Run ``task()`` as one job: in a sweep a failure is recorded and the sweep goes on, an interrupt ends it
    KILLED (Ctrl-C in the launching process stops everything); a single job that fails ends the command."""
    launcher = os.environ.get(LAUNCHER) == _this_process()  # the command line's process (basic launcher's jobs too)
    handlers = None if launcher else interrupts.install()
    try:
        return task()
    except KeyboardInterrupt as exc:
        record_interrupt(place, exc)
        if launcher:
            raise
        if slurm.requeued():  # no result for submitit: the launching process waits for the next attempt
            log.warning("job interrupted (%s) and requeued by SLURM: its next attempt continues its run", exc)
            raise SystemExit(1) from None
        log.warning("job interrupted (%s); its run is KILLED", exc or "SIGINT")
        return None
    except Exception as exc:  # noqa: BLE001  (every failure is recorded; a single job ends the command)
        with contextlib.suppress(OSError):  # a full or read-only output folder: the error below says so
            record_failure(place, exc)  # results.json, and the traceback in error.txt
        if place.sweep_dir is None:
            unnamed = isinstance(exc, OSError) and exc.filename is None and place.output_dir is not None
            refuse(OSError(exc.errno, exc.strerror, str(place.output_dir)) if unnamed else exc)  # e.g. a figure's write
        # Once: the job's log line; the launching process then prints one line for the whole sweep.
        log.error("job failed: %s: %s", type(exc).__name__, exc)
        return None
    finally:
        interrupts.restore(handlers)
