"""Two sweeps never share a parent run or an output folder by accident: default folders are unique
per launching process, and a given folder that already holds a sweep is refused."""

from __future__ import annotations

import pytest

import json
import os
import re
import subprocess
import sys

from mlflow.tracking import MlflowClient

from jfd_testing import run_cli, tiny_overrides


def runs(client, experiment, role):
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], f"tags.`jpegai_fd.role` = '{role}'", max_results=100)


@pytest.mark.slow
def test_two_sweeps_started_together_get_their_own_folder_and_parent(tmp_path, mlflow_server, experiment_name):
    # Same working folder, default hydra.sweep.dir (per-second names before), started at the same moment;
    # one on the joblib launcher, whose workers must find the folder their launching process chose.
    procs = []
    for name, launcher in (("a", ["hydra/launcher=joblib", "hydra.launcher.n_jobs=1"]), ("b", [])):
        own = [o for o in tiny_overrides(tmp_path / name) if not o.startswith("tracking.uri=")]
        args = [
            "-m",
            *launcher,
            "preprocess=single",
            "bpp=6",
            *own,
            f"tracking.uri={mlflow_server.uri}",
            f"tracking.experiment={experiment_name}",
            f"tracking.sweep_name=sweep-{name}",
        ]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "jpegai_fd", *args],
                cwd=tmp_path,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
            )
        )
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    folders = sorted((tmp_path / "outputs" / "multiruns").iterdir())
    assert len(folders) == 2
    client = MlflowClient(mlflow_server.uri)
    parents = {r.info.run_id: r for r in runs(client, experiment_name, "sweep")}
    assert len(parents) == 2
    children = runs(client, experiment_name, "job")
    assert len(children) == 2 and {c.data.tags["mlflow.parentRunId"] for c in children} == set(parents)
    seen = set()
    for folder in folders:
        parent_id = json.loads((folder / ".jpegai_fd" / "parent_run.json").read_text())["run_id"]
        seen.add(parent_id)
        assert parents[parent_id].data.tags["jpegai_fd.sweep_dir"] == str(folder.relative_to(tmp_path))
        (summary,) = [json.loads(p.read_text()) for p in folder.glob("*/results.json")]
        assert summary["status"] == "finished"
        (child,) = [c for c in children if c.info.run_id == summary["run_id"]]
        assert child.data.tags["mlflow.parentRunId"] == parent_id
    assert seen == set(parents)


@pytest.mark.slow
def test_a_given_sweep_folder_that_holds_a_sweep_is_refused(tmp_path):
    args = ["-m", "preprocess=single", "bpp=6", *tiny_overrides(tmp_path), f"hydra.sweep.dir={tmp_path}/sweep"]
    first = run_cli("jpegai_fd", args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    results = tmp_path / "sweep" / "0" / "results.json"
    before = results.read_text()

    again = run_cli("jpegai_fd", [*args[:-1], "bpp=12", args[-1]], cwd=tmp_path, timeout=300)
    assert again.returncode == 2, again.stderr[-3000:]
    lines = [line for line in again.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, again.stderr
    assert lines[0].startswith(f"jpegai_fd: error: hydra.sweep.dir={tmp_path}/sweep already holds a sweep")
    assert "new folder" in lines[0]
    # Resuming is allowed there only for the same sweep (tests/test_tracking_sweep.py reruns one).
    other = run_cli("jpegai_fd", [*args[:-1], "bpp=12", "tracking.resume=true", args[-1]], cwd=tmp_path, timeout=300)
    assert other.returncode == 2 and "already holds a sweep" in other.stderr
    # Nothing ran: the first sweep's results and its single parent run are untouched.
    assert results.read_text() == before
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    assert len(runs(client, "jpegai_fd", "sweep")) == 1 and len(runs(client, "jpegai_fd", "job")) == 1


@pytest.mark.slow
def test_two_sweeps_started_at_the_same_moment_in_one_given_folder_never_share_it(tmp_path):
    # The claim is atomic (a file created with O_EXCL), not a check then an act: of two sweeps racing for
    # one hydra.sweep.dir exactly one runs there; the other is refused in one line before any work.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jpegai_fd",
                "-m",
                "preprocess=single",
                f"bpp={bpp}",
                *tiny_overrides(tmp_path / f"own{bpp}"),
                f"hydra.sweep.dir={tmp_path}/sweep",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for bpp in (6, 12)
    ]
    done = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in done)
    assert codes == [0, 2], [err[-2000:] for _, err in done]
    refused = next(err for code, err in done if code == 2)
    assert [line for line in refused.splitlines() if line.startswith("jpegai_fd: error:")] == [
        next(line for line in refused.splitlines() if "already holds a sweep" in line)
    ]
    assert len(list((tmp_path / "sweep").glob("*/results.json"))) == 1


def test_single_runs_get_their_own_folder(tmp_path):
    # Two single runs started in the same second used to write one outputs/runs/<time>/results.json.
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jpegai_fd", "--cfg", "hydra", "--resolve"],
            cwd=tmp_path,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    dirs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        lines = out.splitlines()
        run_dir = next(lines[i + 1] for i, line in enumerate(lines) if line.strip() == "run:")
        sweep_dir = next(lines[i + 1] for i, line in enumerate(lines) if line.strip() == "sweep:")
        dirs.append((run_dir.split("dir:")[1].strip(), sweep_dir.split("dir:")[1].strip()))
    (run_a, sweep_a), (run_b, sweep_b) = dirs
    for path in (run_a, run_b, sweep_a, sweep_b):
        assert re.fullmatch(r"outputs/(runs|multiruns)/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_[0-9a-f]{6}", path), path
    # The part after the time is drawn per process: different even within one second.
    assert run_a.rsplit("_", 1)[1] != run_b.rsplit("_", 1)[1]
    assert sweep_a.rsplit("_", 1)[1] != sweep_b.rsplit("_", 1)[1]
