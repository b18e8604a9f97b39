"""What ties the jobs of one multirun together: the sweep's identity, its parent run, job outcomes.

The parent run is created in the launching process (:mod:`jpegai_fd.tracking.sweep_callback`) and its
id written to ``<sweep dir>/.jpegai_fd/parent_run.json``; every job, whatever the launcher (in
process, joblib workers, SLURM), reads it from the sweep folder that Hydra gives it. Each job also
writes ``<sweep dir>/.jpegai_fd/jobs/<num>.json`` (finished, skipped, failed or killed) so that the launching
process can close the parent run and set the exit code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

# Tags of our own, next to the grid factors.
ROLE = "jpegai_fd.role"  # "sweep" on parent runs, "job" on job runs
CONFIG_HASH = "jpegai_fd.config_hash"
SWEEP_KEY = "jpegai_fd.sweep_key"  # identity of a sweep's overrides: a rerun of the same sweep has the same key
REUSED_FROM = "jpegai_fd.reused_from"
UNTUNED_TAG = "warning.untuned"  # why a job ran no search (its fixed parameters were used)
# Overrides that change how a sweep is tracked, not what it computes.
TRACKING_ONLY = ("tracking.resume", "tracking.sweep_name", "tracking.uri", "tracking.experiment")
STATE_DIR = ".jpegai_fd"


def latest_run(client, experiment_id: str, filter_string: str):
    """The most recently started run of the experiment matching ``filter_string``, or None."""
    runs = client.search_runs(
        [experiment_id], filter_string=filter_string, order_by=["attributes.start_time DESC"], max_results=1
    )
    return runs[0] if runs else None


def end_running_children(client, experiment_id: str, parent_id: str, status: str, error: str) -> list[str]:
    """End the parent's child runs still RUNNING with ``status`` and tag ``error``; their ids."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    running = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{parent_id}' and attributes.status = 'RUNNING'",
        max_results=10000,
    )
    for run in running:
        client.set_tag(run.info.run_id, "error", error)
        client.set_terminated(run.info.run_id, status)
    return [r.info.run_id for r in running]


def sweep_status(counts) -> str:
    """Final status of a parent run from its jobs' outcome counts."""
    return "FAILED" if counts.get("failed") else "KILLED" if counts.get("killed") else "FINISHED"


def config_hash(cfg: DictConfig) -> str:
    """Identity of a job's computation: the resolved config without ``tracking`` and ``hydra``."""
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("tracking", None)
    data.pop("hydra", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def sweep_overrides(task_overrides) -> list[str]:
    """The overrides that define the sweep's jobs, in the user's order."""
    return [o for o in task_overrides if o.lstrip("+~").partition("=")[0] not in TRACKING_ONLY]


def sweep_key(task_overrides) -> str:
    return hashlib.sha256("\n".join(sorted(sweep_overrides(task_overrides))).encode()).hexdigest()[:16]


def sweep_name(tracking: DictConfig, task_overrides) -> str:
    """``tracking.sweep_name``, or ``sweep`` plus the sweep's overrides, start time and a short id."""
    if tracking.get("sweep_name"):
        return str(tracking.sweep_name)
    from jpegai_fd.tracking.names import unique_sweep_suffix

    text = " ".join(sweep_overrides(task_overrides)) or "(defaults)"
    suffix = unique_sweep_suffix()  # two sweeps of the same overrides get distinct names
    return f"sweep {text}"[: 250 - len(suffix)] + suffix


def state_dir(sweep_dir: str | Path) -> Path:
    return Path(sweep_dir) / STATE_DIR


def write_parent(sweep_dir: str | Path, run_id: str, experiment_id: str) -> None:
    d = state_dir(sweep_dir)
    (d / "jobs").mkdir(parents=True, exist_ok=True)
    (d / "parent_run.json").write_text(json.dumps({"run_id": run_id, "experiment_id": experiment_id}))


def job_output_dir() -> Path | None:
    """Hydra's output folder of this job, or None outside a Hydra app (compose API)."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir) if HydraConfig.initialized() else None


def hydra_job() -> tuple[Path, int] | None:
    """(sweep dir, job number) of this job when it runs inside a Hydra multirun, else None."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN:
        return None
    return Path(hc.sweep.dir), int(hc.job.num)


def parent_run_id() -> str | None:
    """The sweep's parent run id, when this job belongs to a tracked multirun."""
    job = hydra_job()
    if job is None:
        return None
    path = state_dir(job[0]) / "parent_run.json"
    return json.loads(path.read_text())["run_id"] if path.exists() else None


def record_outcome(status: str, **details) -> None:
    """Write this job's outcome (finished | skipped | failed) for the launching process."""
    job = hydra_job()
    if job is None:
        return
    d = state_dir(job[0]) / "jobs"
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{job[1]}.json").write_text(json.dumps({"job": job[1], "status": status, **details}, default=str))


def read_outcomes(sweep_dir: str | Path) -> list[dict]:
    """The outcomes the jobs recorded, by job number (10 after 9)."""
    d = state_dir(sweep_dir) / "jobs"
    found = [json.loads(p.read_text()) for p in d.glob("*.json")] if d.exists() else []
    return sorted(found, key=lambda o: int(o["job"]))


def clear_outcomes(sweep_dir: str | Path) -> None:
    d = state_dir(sweep_dir) / "jobs"
    for p in d.glob("*.json") if d.exists() else ():
        p.unlink()


def _job_overrides() -> str | None:
    if hydra_job() is None:
        return None
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().job.override_dirname


def record_failure(exc: BaseException, out_dir: Path | None) -> None:
    """A failed job: ``results.json`` with the error in its output folder, and its outcome for the sweep."""
    import traceback

    error = f"{type(exc).__name__}: {exc}"
    if out_dir is not None:
        (out_dir / "results.json").write_text(json.dumps({"status": "failed", "error": error}, indent=2))
        (out_dir / "error.txt").write_text("".join(traceback.format_exception(exc)))
    record_outcome("failed", error=error[:2000], overrides=_job_overrides())


def record_interrupt(exc: BaseException, out_dir: Path | None) -> None:
    """A job stopped by Ctrl-C or SIGTERM: ``results.json`` (status killed) and its outcome."""
    error = f"{type(exc).__name__}: {exc or 'interrupted'}"
    if out_dir is not None:
        (out_dir / "results.json").write_text(json.dumps({"status": "killed", "error": error}, indent=2))
    record_outcome("killed", error=error, overrides=_job_overrides())
