"""The real command line, end to end: a grid of the thesis factors as a Hydra multirun on tiny data, read back
from MLflow; a second run of the same grid hits the cache."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient

from jfd_testing import compose_cfg, job_inputs, run_cli, tiny_overrides
from jpegai_fd.job import run_job
from jpegai_fd.tracking.settings import JobPlace

# Two preprocessings (`single` runs in most other tests) at two rates: 4 jobs, each rate extracted once.
GRID = ["-m", "preprocess=flatten,multi", "bpp=6,12"]
FACTORS = ("bpp", "component", "preprocess", "latent", "classifier", "encoder", "dataset")
METRICS = (
    "test/accuracy",
    "test/balanced_accuracy",
    "test/precision",
    "test/recall",
    "test/f1",
    "test/roc_auc",
    "cv/best_score",
    "time/extract_s",
    "time/features_s",
    "time/tune_s",
    "time/fit_s",
    "time/predict_s",
)


def runs_of(tmp_path, experiment="jpegai_fd"):
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    exp = client.get_experiment_by_name(experiment)
    # Job runs only: a multirun also logs one parent run for the sweep (tag jpegai_fd.role=sweep).
    return client, client.search_runs([exp.experiment_id], "tags.`jpegai_fd.role` = 'job'", max_results=1000)


@pytest.mark.slow
def test_grid_multirun_logs_a_run_per_job_and_reruns_from_cache(tmp_path):
    args = [*GRID, *tiny_overrides(tmp_path), f"hydra.sweep.dir={tmp_path}/sweep1"]
    first = run_cli("jpegai_fd", args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    client, runs = runs_of(tmp_path)
    assert len(runs) == 4
    assert {(r.data.tags["preprocess"], r.data.tags["bpp"]) for r in runs} == {
        (p, b) for p in ("flatten", "multi") for b in ("6", "12")
    }
    for run in runs:
        assert run.info.status == "FINISHED"
        assert all(f in run.data.tags for f in FACTORS)
        assert run.data.tags["classifier"] == "rf" and run.data.tags["latent"] == "y_hat"
        for metric in METRICS:
            assert metric in run.data.metrics, metric
        assert 0.0 <= run.data.metrics["test/accuracy"] <= 1.0
        assert run.data.params["bpp"] == run.data.tags["bpp"]
        assert run.data.params["tuning.n_trials"] == "2"
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"config.yaml", "confusion_matrix.json", "optuna_trials.csv"} <= artifacts
        figures = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
        assert "figures/confusion_matrix.png" in figures
        cm = json.loads(open(client.download_artifacts(run.info.run_id, "confusion_matrix.json", str(tmp_path))).read())
        assert sum(map(sum, cm["matrix"])) == 12  # 6 test images per class
    # Extraction happened once per bpp (three splits each); the other jobs found the latents cached.
    extracted = sorted(r.data.metrics["extract/images_extracted"] for r in runs)
    assert extracted == [0, 0, 48, 48]
    assert first.stdout.count("RESULT") + first.stderr.count("RESULT") >= 4

    second = run_cli(
        "jpegai_fd", [*GRID, *tiny_overrides(tmp_path), f"hydra.sweep.dir={tmp_path}/sweep2"], cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr[-3000:]
    _, runs = runs_of(tmp_path)
    assert len(runs) == 8
    new = runs[:4]  # newest first
    assert all(r.data.metrics["extract/images_extracted"] == 0 for r in new)
    assert all(r.data.metrics["extract/images_cached"] == 48 for r in new)
    log = second.stdout + second.stderr
    assert "extracting" not in log and log.count("nothing to extract") == 12
    # Results do not depend on whether latents came from the cache.
    by_factor = {}
    for run in runs:
        by_factor.setdefault((run.data.tags["preprocess"], run.data.tags["bpp"]), set()).add(
            run.data.metrics["test/accuracy"]
        )
    assert all(len(v) == 1 for v in by_factor.values())
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "sweep2").rglob("results.json")]
    assert len(summaries) == 4
    accuracy = {r.info.run_id: r.data.metrics["test/accuracy"] for r in new}
    for summary in summaries:
        assert summary["metrics"]["test/accuracy"] == pytest.approx(accuracy[summary["run_id"]])


def test_single_job_with_hgb_and_y_component(tmp_path):
    # In-process (the command line's own path is the grid above): the job, its run and its results.json.
    settings, parts = job_inputs(
        compose_cfg([*tiny_overrides(tmp_path, classifier="hgb"), "preprocess=single", "component=y", "latent=y"])
    )
    (tmp_path / "run").mkdir()
    run_job(settings, parts, JobPlace(output_dir=tmp_path / "run"))
    _, runs = runs_of(tmp_path)
    (run,) = runs
    assert (run.data.tags["classifier"], run.data.tags["component"], run.data.tags["latent"]) == ("hgb", "y", "y")
    assert run.data.metrics["data/num_features"] == 256
    summary = json.loads((tmp_path / "run" / "results.json").read_text())
    assert summary["status"] == "finished" and summary["run_id"] == run.info.run_id
