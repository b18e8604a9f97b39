"""A private one-node SLURM cluster for the session (``docker/slurm/one_node_cluster.sh``, the recipe the
README gives users): munged, slurmctld and slurmd as root on 127.0.0.1, partition ``debug``, 4 CPUs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "docker" / "slurm" / "one_node_cluster.sh"
NEEDED = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")


def unavailable() -> str | None:
    """Why no cluster can start here, or None."""
    missing = [exe for exe in NEEDED if shutil.which(exe) is None]
    if missing:
        return f"SLURM tests need {', '.join(missing)}: apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "SLURM tests need root (the one-node cluster's daemons run as SlurmUser=root)"
    return None


@pytest.fixture(scope="session")
def slurm_cluster():
    """Starts the cluster and sets ``SLURM_CONF`` for this session's commands (the sweeps' jobs inherit it);
    yields its folder. Skips where SLURM is missing, except in CI (``CI=true``), where that fails."""
    reason = unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="jfd-slurm-"))  # not under pytest's 0700 root: munged's socket needs o+x
    before = os.environ.get("SLURM_CONF")
    try:
        started = subprocess.run([SCRIPT, "start", folder], capture_output=True, text=True, timeout=60)
        assert started.returncode == 0, started.stderr + started.stdout
        os.environ["SLURM_CONF"] = str(folder / "slurm.conf")
        yield folder
    finally:
        subprocess.run([SCRIPT, "stop", folder], timeout=120)
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
        shutil.rmtree(folder, ignore_errors=True)


def squeue() -> list[str]:
    """The cluster's queue, one ``JOBID STATE`` line per job or array task."""
    out = subprocess.run(["squeue", "--noheader", "-o", "%i %T"], capture_output=True, text=True, check=True)
    return out.stdout.split("\n")[:-1]
