"""Hydra callback: one MLflow parent run per multirun (registered in ``conf/config.yaml``).

In the launching process, before any job starts, it creates the experiment once (no race between
parallel workers) and the parent run, named after the sweep, with the sweep's overrides and Hydra's
multirun config as artifacts. Jobs attach to it through the sweep folder
(:func:`jpegai_fd.tracking.sweep.parent_run_id`). With ``tracking.resume=true`` the latest parent run
of the same sweep (same overrides) is reopened instead. After the last job it closes the parent run,
FAILED if any job failed. No state is shared through this module: the launching process passes the
callback's parameters on the command line (``hydra.callbacks.sweep_run.tracked``, ``.report_file``)
and reads back the JSON report the callback writes (the sweep folder, the parent run, then the job
counts for the exit code); on Ctrl-C or SIGTERM, :func:`abort` ends the sweep's runs KILLED from it.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

from hydra.experimental.callback import Callback
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf

from jpegai_fd.tracking import interrupts
from jpegai_fd.tracking.connection import check_tracking_uri
from jpegai_fd.tracking.mlflow_run import default_tags, ensure_experiment
from jpegai_fd.tracking.sweep import (
    ROLE,
    SWEEP_KEY,
    clear_outcomes,
    end_running_children,
    latest_run,
    read_outcomes,
    sweep_key,
    sweep_name,
    sweep_overrides,
    sweep_status,
    write_parent,
)
from jpegai_fd.tracking.sweep_summary import print_sweep_summary

log = logging.getLogger(__name__)
OUTCOMES = ("finished", "skipped", "failed", "killed")


def read_report(path: str | Path | None) -> dict:
    """The report a :class:`SweepRun` wrote to ``path`` ({} before a multirun started, or none)."""
    try:
        return json.loads(Path(path).read_text()) if path else {}
    except (OSError, ValueError):
        return {}


def abort(exc: BaseException, report: dict) -> dict:
    """After Ctrl-C or SIGTERM in the launching process: stop the job processes it started, then end
    the parent's runs still RUNNING and the parent itself KILLED (``report``: :func:`read_report`).
    Returns what it did: ``sweep_dir``, ``killed`` (run ids) and ``error`` (why the server could not
    be told, or None)."""
    interrupts.stop_descendants()
    done = {"sweep_dir": report.get("sweep_dir"), "killed": [], "error": None}
    parent_id = report.get("parent_run_id")
    if parent_id is None or report.get("closed"):
        return done
    try:
        client = MlflowClient(report["tracking_uri"])
        done["killed"] = end_running_children(
            client, report["experiment_id"], parent_id, "KILLED", interrupts.reason(exc)
        )
        counts = Counter(o["status"] for o in read_outcomes(report["sweep_dir"]))
        for status in OUTCOMES:
            client.set_tag(parent_id, f"jobs.{status}", str(counts[status]))
        client.set_tag(parent_id, "error", interrupts.reason(exc))
        client.set_terminated(parent_id, "KILLED")
    except Exception as err:  # noqa: BLE001  (server gone too: jpegai_fd.sync ends the runs later)
        done["error"] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    return done


def find_parent(client: MlflowClient, experiment_id: str, key: str):
    """Latest parent run of the sweep with identity ``key``, or None."""
    return latest_run(client, experiment_id, f"tags.`{ROLE}` = 'sweep' and tags.`{SWEEP_KEY}` = '{key}'")


class SweepRun(Callback):
    """Parent MLflow run of a Hydra multirun. ``tracked``: false for entry points that log nothing to
    MLflow (extraction); ``report_file``: where the launching process reads the sweep's state."""

    def __init__(self, tracked: bool = True, report_file: str | None = None) -> None:
        self.tracked, self.report_file = tracked, report_file
        self.client: MlflowClient | None = None
        self.parent_id: str | None = None
        self.experiment_id: str | None = None
        self.sweep_dir: str | None = None
        self.report: dict = {}

    def _write_report(self, **entries) -> None:
        self.report.update(entries)
        if self.report_file:
            Path(self.report_file).write_text(json.dumps(self.report, default=str))

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        clear_outcomes(config.hydra.sweep.dir)
        self.sweep_dir = str(config.hydra.sweep.dir)
        self._write_report(sweep_dir=self.sweep_dir)
        if not self.tracked:
            return
        tracking = config.tracking
        check_tracking_uri(tracking.uri)
        self.client = MlflowClient(tracking.uri)
        experiment_id = self.experiment_id = ensure_experiment(self.client, tracking.experiment)
        overrides = list(config.hydra.overrides.task)
        key = sweep_key(overrides)
        sweep_dir = config.hydra.sweep.dir
        previous = find_parent(self.client, experiment_id, key) if tracking.get("resume") else None
        if previous is not None:
            self.parent_id = previous.info.run_id
            self.client.update_run(self.parent_id, status="RUNNING")
            log.info("resuming sweep %r in parent run %s", previous.info.run_name, self.parent_id)
        else:
            tags = {ROLE: "sweep", SWEEP_KEY: key, "jpegai_fd.sweep_overrides": " ".join(sweep_overrides(overrides))}
            run = self.client.create_run(
                experiment_id, run_name=sweep_name(tracking, overrides), tags=default_tags(tags)
            )
            self.parent_id = run.info.run_id
        self.client.set_tag(self.parent_id, "jpegai_fd.sweep_dir", str(sweep_dir))
        self.client.log_text(self.parent_id, "\n".join(overrides) + "\n", "sweep/overrides.txt")
        self.client.log_text(self.parent_id, OmegaConf.to_yaml(config), "sweep/multirun.yaml")
        write_parent(sweep_dir, self.parent_id, experiment_id)
        self._write_report(parent_run_id=self.parent_id, experiment_id=experiment_id, tracking_uri=tracking.uri)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        outcomes = read_outcomes(config.hydra.sweep.dir)
        counts = Counter(o["status"] for o in outcomes)
        summary = dict(
            **{status: counts[status] for status in OUTCOMES},
            failed_jobs=[o for o in outcomes if o["status"] == "failed"],
            offline_jobs=[o for o in outcomes if o.get("tracking_error")],
            parent_open=False,
        )
        print_sweep_summary(config, self.parent_id, getattr(self, "experiment_id", None))  # the jobs' table
        if self.parent_id is None:
            self._write_report(**summary)
            return
        try:
            for status in OUTCOMES:
                self.client.set_tag(self.parent_id, f"jobs.{status}", str(counts[status]))
            self.client.set_terminated(self.parent_id, sweep_status(counts))
        except Exception as exc:  # noqa: BLE001  (the jobs' results are on disk; jpegai_fd.sync closes it later)
            summary["parent_open"] = True
            log.warning("could not close the sweep's parent run %s: %s", self.parent_id, str(exc).splitlines()[0])
        # Only now "closed": a Ctrl-C while the parent is being closed still ends it (abort).
        self._write_report(**summary, closed=not summary["parent_open"])
