"""SLURM: Ctrl-C or SIGTERM of a sweep cancels its jobs by id (``scancel``; submitit cancels nothing when the
launching process is interrupted); a requeued job leaves no result, so the sweep waits for its next attempt."""

import dataclasses
import logging
import os
import re
import subprocess
import time
from pathlib import Path

from jpegai_fd.tracking.settings import JobPlace

log = logging.getLogger(__name__)


def attempt(place: JobPlace) -> JobPlace:
    """``place`` with the SLURM job id (arrays as ``<array>_<task>``, as squeue shows them) and its restarts."""
    env = os.environ
    if "SLURM_JOB_ID" not in env:
        return place
    task = env.get("SLURM_ARRAY_TASK_ID")
    job = f"{env['SLURM_ARRAY_JOB_ID']}_{task}" if task else env["SLURM_JOB_ID"]
    return dataclasses.replace(place, slurm_job=job, slurm_restarts=int(env.get("SLURM_RESTART_COUNT", 0)))


def requeued() -> bool:
    """True once SLURM requeued this job: ``Restarts`` past the ``SLURM_RESTART_COUNT`` it started with."""
    if (job := os.environ.get("SLURM_JOB_ID")) is None:
        return False
    shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True, check=False)
    restarts = re.search(r"\bRestarts=(\d+)", shown.stdout)
    return restarts is not None and int(restarts[1]) > int(os.environ.get("SLURM_RESTART_COUNT", 0))


def submitit_root(launcher) -> Path | None:
    """The folder above submitit's job folders when ``launcher`` (``hydra.launcher``) submits to SLURM."""
    if not str(launcher.get("_target_", "")).endswith(".SlurmLauncher"):
        return None
    folder = Path(str(launcher.submitit_folder))
    return folder.parent if "%" in folder.name else folder


def cancel_jobs(root: Path, wait_s: float = 60.0) -> list[str]:
    """``scancel`` the job arrays under ``root`` (``<id>_submission.sh``), wait up to ``wait_s`` until ``squeue``
    drops them (each job ends its own run KILLED before the launcher ends the rest); returns the ids."""
    ids = sorted({p.name.removesuffix("_submission.sh") for p in root.glob("**/*_submission.sh")})
    if not ids:
        return []
    log.warning("cancelling the sweep's SLURM job array(s) %s", ", ".join(ids))
    subprocess.run(["scancel", "--quiet", *ids], check=False)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        listed = subprocess.run(["squeue", "--noheader", "--jobs", ",".join(ids)], capture_output=True, text=True)
        if not listed.stdout.strip():
            break
        time.sleep(0.5)
    return ids
