"""Ready sweeps (conf/experiment/, multirun_sweeps/): what they compose, and the quick one end to end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from mlflow.tracking import MlflowClient

from jfd_testing import REPO, run_cli

FACTORS = ("bpp", "component", "preprocess", "latent", "classifier")


def plan(args: list[str], tmp_path) -> list[dict]:
    """Jobs listed by multirun_sweeps/plan.py, as {key: value} of their overrides."""
    done = subprocess.run(
        [sys.executable, str(REPO / "multirun_sweeps" / "plan.py"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    jobs = [dict(kv.split("=", 1) for kv in line.split()[1:]) for line in lines[:-1]]
    assert lines[-1] == f"{len(jobs)} jobs"
    return jobs


def job_config(args: list[str], tmp_path) -> dict:
    result = run_cli("jpegai_fd", [*args, "--cfg", "job"], cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return yaml.safe_load(result.stdout)


@pytest.mark.parametrize("experiment", ["thesis_grid", "quick_grid"])
def test_experiment_sweeps_the_48_thesis_combinations(tmp_path, experiment):
    jobs = plan([f"experiment={experiment}"], tmp_path)
    combos = {tuple(job[f] for f in FACTORS) for job in jobs}
    assert len(jobs) == len(combos) == 48
    assert {c[0] for c in combos} == {"6", "12"} and {c[2] for c in combos} == {"flatten", "single", "multi"}
    assert {c[4] for c in combos} == {"rf", "hgb"} and {c[3] for c in combos} == {"y", "y_hat"}


def test_a_factor_on_the_command_line_replaces_its_sweep(tmp_path):
    jobs = plan(["experiment=quick_grid", "classifier=hgb", "bpp=6"], tmp_path)
    assert len(jobs) == 12 and {j["classifier"] for j in jobs} == {"hgb"} and {j["bpp"] for j in jobs} == {"6"}


def test_thesis_grid_composes_thesis_sizes_on_faces140k_with_jpegai(tmp_path):
    assert (REPO / "conf" / "dataset" / "faces140k.yaml").exists()
    cfg = job_config(["experiment=thesis_grid"], tmp_path)
    assert cfg["dataset"]["name"] == "faces140k" and cfg["encoder"]["name"] == "jpegai"
    assert (cfg["dataset"]["num_train"], cfg["dataset"]["num_test"]) == (30000, 3000)
    assert cfg["tracking"]["experiment"] == "thesis_grid"


@pytest.mark.slow
def test_quick_grid_composes_the_demo_data_at_toy_size(tmp_path):
    cfg = job_config(["experiment=quick_grid"], tmp_path)
    assert cfg["dataset"]["name"] == "synthetic" and cfg["encoder"]["name"] == "dct"
    assert cfg["dataset"]["image_size"] == 64 and cfg["tuning"]["n_trials"] == 2


@pytest.mark.parametrize(
    "classifier,target,size",
    [
        ("rf", "RandomForestClassifier", ("n_estimators", 20)),
        ("hgb", "HistGradientBoostingClassifier", ("max_iter", 20)),
    ],
)
@pytest.mark.slow
def test_quick_grid_uses_toy_models_of_the_swept_classifier(tmp_path, classifier, target, size):
    result = run_cli(
        "jpegai_fd",
        ["experiment=quick_grid", f"classifier={classifier}", "--cfg", "job", "--resolve", "-p", "classifier"],
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    clf = yaml.safe_load(result.stdout)
    assert clf["name"] == classifier and clf["estimator"]["_target_"].endswith(target)
    assert clf["estimator"][size[0]] == size[1] and clf["search_space"][size[0]]["high"] == 40


@pytest.mark.slow
def test_quick_grid_script_runs_end_to_end(tmp_path):
    """The documented script, narrowed to rf, yuv, single, y_hat (2 of the 48 jobs, one per rate) to stay short."""
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    narrow = [
        "classifier=rf",
        "component=yuv",
        "preprocess=single",
        "latent=y_hat",
        "dataset.num_per_class.train=12",
        "dataset.num_per_class.test=6",
    ]
    done = subprocess.run(
        ["bash", str(REPO / "multirun_sweeps" / "quick_grid.sh"), *narrow],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("quick_grid").experiment_id])
    jobs = [r for r in runs if r.data.tags.get("jpegai_fd.role") == "job"]
    assert len(jobs) == 2 and all(r.info.status == "FINISHED" for r in jobs)
    assert {(r.data.tags["bpp"], r.data.tags["preprocess"]) for r in jobs} == {("6", "single"), ("12", "single")}
    # Step 1 filled the cache: no training job extracted anything itself.
    assert all(r.data.metrics["extract/images_extracted"] == 0 for r in jobs)
