"""Hydra launchers of conf/hydra/launcher/: joblib (local parallel) and submitit (local) for real, SLURM
configs composed (tests/test_slurm.py submits to a real one-node SLURM cluster)."""

from __future__ import annotations

import json

import pytest
import yaml
from mlflow.tracking import MlflowClient

from jfd_testing import run_cli, tiny_overrides


def sweep_runs(tmp_path):
    """(parent run, job runs) of the only sweep in the test's MLflow file."""
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id])
    parents = [r for r in runs if r.data.tags.get("jpegai_fd.role") == "sweep"]
    jobs = [r for r in runs if r.data.tags.get("jpegai_fd.role") == "job"]
    assert len(parents) == 1
    return parents[0], jobs


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """The tiny data and its cache at bpp 6 and 12, extracted once for this module's sweeps."""
    tmp_path = tmp_path_factory.mktemp("filled")
    extract = run_cli(
        "jpegai_fd.extract",
        ["-m", *tiny_overrides(tmp_path), "preprocess=single", "bpp=6,12", f"hydra.sweep.dir={tmp_path}/extract"],
        cwd=tmp_path,
    )
    assert extract.returncode == 0, extract.stderr[-3000:]
    return tmp_path


def multirun(tmp_path, filled, launcher: list[str], timeout=600):
    """A 2-job sweep (bpp 6 and 12) on tiny data whose cache is filled (``filled``), through ``launcher``."""
    shared = [f"paths.data_dir={filled}/data", f"paths.cache={filled}/cache.zarr"]
    base = [*(o for o in tiny_overrides(tmp_path) if not o.startswith("paths.")), *shared, "preprocess=single"]
    result = run_cli(
        "jpegai_fd",
        ["-m", *base, "bpp=6,12", *launcher, f"hydra.sweep.dir={tmp_path}/sweep"],
        cwd=tmp_path,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parent, jobs = sweep_runs(tmp_path)
    assert sorted(r.data.tags["bpp"] for r in jobs) == ["12", "6"]
    assert all(r.info.status == "FINISHED" and r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in jobs)
    for k in (0, 1):
        summary = json.loads((tmp_path / "sweep" / str(k) / "results.json").read_text())
        assert summary["status"] == "finished" and summary["extract/images_cached"] > 0  # read, not re-extracted
        assert summary["extract/images_extracted"] == 0
    return result


@pytest.mark.slow
def test_local_parallel_launcher_runs_two_jobs_at_once(tmp_path, filled):
    result = multirun(tmp_path, filled, ["hydra/launcher=local_parallel", "hydra.launcher.n_jobs=2"])
    # Hydra's joblib launcher announces its pool; the jobs ran in its 2 loky worker processes.
    assert "Joblib.Parallel(n_jobs=2,backend=loky" in result.stdout + result.stderr


@pytest.mark.slow
def test_submitit_local_launcher_runs_jobs_as_submitit_jobs(tmp_path, filled):
    result = multirun(tmp_path, filled, ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"])
    assert "Submitit 'local' sweep output dir" in result.stdout + result.stderr
    # submitit's own job folders: the pickled job and its result per job
    assert len(list((tmp_path / "sweep" / ".submitit").glob("*/*_result.pkl"))) == 2


@pytest.mark.parametrize(
    "module,launcher,expected",
    [
        ("jpegai_fd", "slurm_cpu", {"cpus_per_task": 14, "gpus_per_node": None, "partition": "batch"}),
        ("jpegai_fd.extract", "slurm_gpu", {"gpus_per_node": 1, "cpus_per_task": 8, "partition": "batch"}),
        ("jpegai_fd", "slurm_debug", {"cpus_per_task": 1, "timeout_min": 10, "partition": "batch"}),
        ("jpegai_fd", "local_parallel", {"n_jobs": 2, "backend": "loky"}),
    ],
)
def test_launcher_configs_compose(tmp_path, module, launcher, expected):
    result = run_cli(
        module,
        [f"hydra/launcher={launcher}", "--cfg", "hydra", "--resolve", "-p", "hydra.launcher"],
        cwd=tmp_path,
        timeout=120,
        env={"JFD_SLURM_PARTITION": "batch"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    conf = yaml.safe_load(result.stdout)
    assert conf["_target_"].startswith(
        "hydra_plugins.hydra_" + ("joblib" if launcher == "local_parallel" else "submitit")
    )
    assert {k: conf[k] for k in expected} == expected
    if launcher.startswith("slurm"):
        assert conf["account"] is None and conf["submitit_folder"].endswith("/.submitit/%j")
