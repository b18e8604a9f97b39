"""Ctrl-C or SIGTERM of a sweep on SLURM: its jobs are not processes of this machine, so they are
cancelled by id (``scancel``); submitit cancels nothing when the launching process is interrupted."""

import logging
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)


def submitit_root(launcher) -> Path | None:
    """The folder above submitit's job folders when ``launcher`` (``hydra.launcher``) submits to SLURM."""
    if not str(launcher.get("_target_", "")).endswith(".SlurmLauncher"):
        return None
    folder = Path(str(launcher.submitit_folder))
    return folder.parent if "%" in folder.name else folder


def cancel_jobs(root: Path, wait_s: float = 60.0) -> list[str]:
    """``scancel`` every job array submitted under ``root`` (submitit names each ``<id>_submission.sh``),
    then wait up to ``wait_s`` until ``squeue`` no longer lists them: each job gets SIGTERM, ends its run
    KILLED itself, and only then does the launching process end the runs left RUNNING. Returns the ids."""
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
