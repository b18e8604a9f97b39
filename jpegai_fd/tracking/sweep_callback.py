"""Hydra callback: one MLflow parent run per multirun (registered in ``conf/config.yaml``).

In the launching process, before any job starts, it creates the experiment once (no race between
parallel workers) and the parent run, named after the sweep, with the sweep's overrides and Hydra's
multirun config as artifacts. Jobs attach to it through the sweep folder
(:func:`jpegai_fd.tracking.sweep.parent_run_id`). With ``tracking.resume=true`` the latest parent run
of the same sweep (same overrides) is reopened instead. After the last job it closes the parent run,
FAILED if any job failed, and leaves the counts in :data:`LAST_SWEEP` for the exit code. On Ctrl-C or
SIGTERM in the launching process, :func:`abort` ends the sweep's runs KILLED.
"""

from __future__ import annotations

import logging
from collections import Counter

from hydra.experimental.callback import Callback
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf

from jpegai_fd.tracking.connection import check_tracking_uri
from jpegai_fd.tracking.mlflow_run import default_tags, ensure_experiment
from jpegai_fd.tracking import interrupts
from jpegai_fd.tracking.sweep import (ROLE, SWEEP_KEY, clear_outcomes, end_running_children, latest_run, read_outcomes,
                                      sweep_key, sweep_name, sweep_overrides, sweep_status, write_parent)
from jpegai_fd.tracking.sweep_summary import print_sweep_summary

log = logging.getLogger(__name__)
ENABLED = True  # False for entry points that log nothing to MLflow (set by jpegai_fd.cli.launch)
LAST_SWEEP: dict = {}  # outcome of the latest multirun in this process: parent_run_id, finished, skipped, failed
ACTIVE: "SweepRun | None" = None  # the multirun in progress in this process, for abort()
OUTCOMES = ("finished", "skipped", "failed", "killed")


def abort(exc: BaseException) -> dict:
    """After Ctrl-C or SIGTERM in the launching process: stop the job processes it started, then end
    the parent's runs still RUNNING and the parent itself KILLED. Returns what it did: ``sweep_dir``,
    ``killed`` (run ids) and ``error`` (why the server could not be told, or None)."""
    interrupts.stop_descendants()
    sweep = ACTIVE
    done = {"sweep_dir": None, "killed": [], "error": None}
    if sweep is None or sweep.parent_id is None:
        return done
    done["sweep_dir"] = sweep.sweep_dir
    try:
        done["killed"] = end_running_children(sweep.client, sweep.experiment_id, sweep.parent_id, "KILLED",
                                              interrupts.reason(exc))
        counts = Counter(o["status"] for o in read_outcomes(sweep.sweep_dir))
        for status in OUTCOMES:
            sweep.client.set_tag(sweep.parent_id, f"jobs.{status}", str(counts[status]))
        sweep.client.set_tag(sweep.parent_id, "error", interrupts.reason(exc))
        sweep.client.set_terminated(sweep.parent_id, "KILLED")
    except Exception as err:  # noqa: BLE001  (server gone too: jpegai_fd.sync ends the runs later)
        done["error"] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    return done


def find_parent(client: MlflowClient, experiment_id: str, key: str):
    """Latest parent run of the sweep with identity ``key``, or None."""
    return latest_run(client, experiment_id, f"tags.`{ROLE}` = 'sweep' and tags.`{SWEEP_KEY}` = '{key}'")


class SweepRun(Callback):
    """Parent MLflow run of a Hydra multirun."""

    def __init__(self) -> None:
        self.client: MlflowClient | None = None
        self.parent_id: str | None = None
        self.experiment_id: str | None = None
        self.sweep_dir: str | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        global ACTIVE
        LAST_SWEEP.clear()
        clear_outcomes(config.hydra.sweep.dir)
        ACTIVE = self
        self.sweep_dir = str(config.hydra.sweep.dir)
        if not ENABLED:
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
            run = self.client.create_run(experiment_id, run_name=sweep_name(tracking, overrides), tags=default_tags(tags))
            self.parent_id = run.info.run_id
        self.client.set_tag(self.parent_id, "jpegai_fd.sweep_dir", str(sweep_dir))
        self.client.log_text(self.parent_id, "\n".join(overrides) + "\n", "sweep/overrides.txt")
        self.client.log_text(self.parent_id, OmegaConf.to_yaml(config), "sweep/multirun.yaml")
        write_parent(sweep_dir, self.parent_id, experiment_id)

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        global ACTIVE
        outcomes = read_outcomes(config.hydra.sweep.dir)
        counts = Counter(o["status"] for o in outcomes)
        LAST_SWEEP.update(parent_run_id=self.parent_id, sweep_dir=str(config.hydra.sweep.dir),
                          **{status: counts[status] for status in OUTCOMES},
                          failed_jobs=[o for o in outcomes if o["status"] == "failed"],
                          offline_jobs=[o for o in outcomes if o.get("tracking_error")], parent_open=False)
        print_sweep_summary(config, self.parent_id, getattr(self, "experiment_id", None))  # the jobs' table
        if self.parent_id is None:
            ACTIVE = None
            return
        try:
            for status in OUTCOMES:
                self.client.set_tag(self.parent_id, f"jobs.{status}", str(counts[status]))
            self.client.set_terminated(self.parent_id, sweep_status(counts))
        except Exception as exc:  # noqa: BLE001  (the jobs' results are on disk; jpegai_fd.sync closes it later)
            LAST_SWEEP["parent_open"] = True
            log.warning("could not close the sweep's parent run %s: %s", self.parent_id, str(exc).splitlines()[0])
        ACTIVE = None  # only now: a Ctrl-C while the parent is being closed still ends it (abort)
