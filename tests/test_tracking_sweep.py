"""A real multirun (joblib launcher, 2 workers) against a real MLflow server: one parent run, child
runs attached to it, per-run figures and trials, resume, the report, and a failing job."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from jfd_testing import compose_cfg, run_cli, tiny_overrides, train
from jpegai_fd.errors import UserError
from jpegai_fd.report.__main__ import main as report_main

GRID = ["latent=y,y_hat", "component=y,yuv"]
SHORT_DIRS = "hydra.sweep.subdir=${hydra.job.num}"  # the temp paths in the overrides make names too long


def sweep_args(tmp_path, server, experiment, sweep_dir, *extra):
    return [
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "preprocess=single",
        *GRID,
        *tiny_overrides(tmp_path),
        f"tracking.uri={server.uri}",
        f"tracking.experiment={experiment}",
        f"hydra.sweep.dir={tmp_path}/{sweep_dir}",
        SHORT_DIRS,
        *extra,
    ]


def runs(client, experiment, role):
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], f"tags.`jpegai_fd.role` = '{role}'", max_results=100)


@pytest.fixture(scope="module")
def sweep(mlflow_server, tmp_path_factory):
    """The 4-job grid run once for the tests of this module."""
    tmp_path = tmp_path_factory.mktemp("sweep")
    result = run_cli("jpegai_fd", sweep_args(tmp_path, mlflow_server, "sweep_grid", "sweep1"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path, MlflowClient(mlflow_server.uri), "sweep_grid"


@pytest.mark.slow
def test_one_parent_run_with_a_child_per_job(sweep):
    tmp_path, client, experiment = sweep
    assert len([e for e in client.search_experiments() if e.name == experiment]) == 1
    (parent,) = runs(client, experiment, "sweep")
    assert parent.info.status == "FINISHED"
    assert parent.info.run_name.startswith("sweep preprocess=single latent=y,y_hat component=y,yuv")
    assert parent.data.tags["jobs.finished"] == "4" and parent.data.tags["jobs.failed"] == "0"
    overrides = client.download_artifacts(parent.info.run_id, "sweep/overrides.txt", str(tmp_path))
    assert "latent=y,y_hat" in open(overrides).read().splitlines()
    multirun = open(client.download_artifacts(parent.info.run_id, "sweep/multirun.yaml", str(tmp_path))).read()
    assert "hydra:" in multirun and "joblib" in multirun

    children = runs(client, experiment, "job")
    assert len(children) == 4
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    assert {(r.data.tags["latent"], r.data.tags["component"]) for r in children} == {
        (lat, comp) for lat in ("y", "y_hat") for comp in ("y", "yuv")
    }
    assert len({r.data.tags["jpegai_fd.config_hash"] for r in children}) == 4
    for run in children:
        assert run.info.status == "FINISHED"
        figures = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
        assert figures == {
            "figures/confusion_matrix.png",
            "figures/roc_curve.png",
            "figures/feature_importance.png",
            "figures/reliability.png",
        }
        # Single patch: one importance per latent channel (the DCT stand-in has 256 luma, 128 chroma channels).
        imp = json.load(open(client.download_artifacts(run.info.run_id, "feature_importance.json", str(tmp_path))))
        assert list(imp) == (["model_y"] if run.data.tags["component"] == "y" else ["model_y", "model_uv"])
        assert sum(sum(part["channels"]) for part in imp.values()) == pytest.approx(1.0)
        assert all("positions" not in part for part in imp.values())
        trials = pd.read_csv(
            io.StringIO(open(client.download_artifacts(run.info.run_id, "optuna_trials.csv", str(tmp_path))).read())
        )
        assert list(trials["number"]) == [0, 1]
        assert set(trials["state"]) <= {"COMPLETE", "PRUNED", "FAIL"}
        assert (trials["duration_s"] > 0).all()
        assert all(1 <= len(json.loads(f)) <= 2 for f in trials["fold_scores"])  # 2 folds, fewer if pruned
        assert {"param_n_estimators", "param_max_depth"} <= set(trials.columns)
        series = client.get_metric_history(run.info.run_id, "trial/value")
        assert sorted(m.step for m in series) == sorted(trials.dropna(subset=["value"])["number"])
    # Each job also keeps its results and artifacts in its Hydra output folder.
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "sweep1").glob("*/results.json")]
    assert sorted(s["status"] for s in summaries) == ["finished"] * 4
    assert len(list((tmp_path / "sweep1").glob("*/artifacts/figures/roc_curve.png"))) == 4


@pytest.mark.slow
def test_resume_skips_finished_jobs_and_reuses_the_parent(sweep, mlflow_server):
    tmp_path, client, experiment = sweep
    (parent,) = runs(client, experiment, "sweep")
    before = {r.info.run_id for r in runs(client, experiment, "job")}
    client.set_tag(parent.info.run_id, "error", "KeyboardInterrupt: interrupted by SIGINT")  # as a Ctrl-C leaves it
    result = run_cli(
        "jpegai_fd", sweep_args(tmp_path, mlflow_server, experiment, "sweep2", "tracking.resume=true"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert {r.info.run_id for r in runs(client, experiment, "job")} == before
    (again,) = runs(client, experiment, "sweep")
    assert again.info.run_id == parent.info.run_id and again.info.status == "FINISHED"
    assert again.data.tags["jobs.skipped"] == "4" and again.data.tags["jobs.finished"] == "0"
    assert "error" not in again.data.tags
    assert again.data.tags["jpegai_fd.sweep_dirs"].splitlines() == [f"{tmp_path}/sweep1", f"{tmp_path}/sweep2"]
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "sweep2").glob("*/results.json")]
    assert len(summaries) == 4 and all(s["status"] == "skipped" and s["run_id"] in before for s in summaries)
    log = result.stdout + result.stderr
    assert log.count("already finished") == 4 and "extracting" not in log


@pytest.mark.slow
def test_report_of_the_sweep(sweep, mlflow_server):
    tmp_path, client, experiment = sweep
    out = tmp_path / "report"
    # In-process: the report's command line is run as a process in test_report.py.
    args = ["--tracking-uri", mlflow_server.uri, "--experiment", experiment, "--sweep", "latest", "--out", str(out)]
    assert report_main(args) == 0
    table = pd.read_csv(out / "results.csv")
    assert list(table.columns[:6]) == ["model", "bpp", "component", "preprocess", "y", "y_hat"]
    # The headline: accuracy at the validation-chosen threshold, the fixed rule for runs without it.
    accuracy = {
        (r.data.tags["component"].upper(), r.data.tags["latent"]): r.data.metrics.get(
            "test/accuracy_at_valid", r.data.metrics["test/accuracy"]
        )
        for r in runs(client, experiment, "job")
    }
    assert len(table) == 2
    for row in table.itertuples():
        assert (row.model, row.bpp, row.preprocess) == ("RF", 12, "single")
        assert row.y == pytest.approx(accuracy[(row.component, "y")])
        assert row.y_hat == pytest.approx(accuracy[(row.component, "y_hat")])
    assert "| RF | 12 | Y | single |" in (out / "results.md").read_text()
    for name in ("y_vs_yuv_y.png", "y_vs_yuv_y_hat.png", "classifiers_by_bpp_y.png", "timing.md", "timing.csv"):
        assert (out / name).stat().st_size > 0
    (parent,) = runs(client, experiment, "sweep")
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/results.md", "report/results.csv", "report/timing.md", "report/y_vs_yuv_y_hat.png"} <= logged
    assert {"report/comparisons.md", "report/comparisons.csv"} <= logged


@pytest.mark.slow
def test_failing_job_marks_its_run_failed_and_the_sweep_goes_on(mlflow_server, tmp_path):
    experiment = "sweep_failing"
    args = [
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "preprocess=single",
        # cv_folds=20 fails at run time (12 training images per class); a bad value that the
        # preflight can see (e.g. an estimator parameter) stops the sweep before any job.
        *tiny_overrides(tmp_path),
        "tuning.cv_folds=2,20",
        f"tracking.uri={mlflow_server.uri}",
        f"tracking.experiment={experiment}",
        f"hydra.sweep.dir={tmp_path}/sweep",
        SHORT_DIRS,
    ]
    result = run_cli("jpegai_fd", args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("jpegai_fd: error: 1 job(s) of the sweep failed")
    client = MlflowClient(mlflow_server.uri)
    children = {r.data.params["tuning.cv_folds"]: r for r in runs(client, experiment, "job")}
    assert children["2"].info.status == "FINISHED"
    assert children["20"].info.status == "FAILED"
    assert "UserError" in children["20"].data.tags["error"] and "cv_folds" in children["20"].data.tags["error"]
    (parent,) = runs(client, experiment, "sweep")
    assert parent.info.status == "FAILED" and parent.data.tags["jobs.failed"] == "1"
    summaries = {p.parent: json.loads(p.read_text()) for p in (tmp_path / "sweep").glob("*/results.json")}
    assert sorted(s["status"] for s in summaries.values()) == ["failed", "finished"]
    failed_dir = next(d for d, s in summaries.items() if s["status"] == "failed")
    assert "cv_folds" in summaries[failed_dir]["error"]
    # The job's error is printed once (its log line), then the sweep's one summary line.
    assert (
        result.stdout.count("needs at least 20 training images")
        + result.stderr.count("needs at least 20 training images")
        == 2
    )
    assert "Traceback" in (failed_dir / "error.txt").read_text()

    # Resume reruns only what did not finish: the failing job again (and it fails again). In-process, job by job
    # as the sweep runs them (the sweep's own exit code for a failed job is checked above).
    fixed = [a for a in args if "=" in a and not a.startswith(("hydra", "tuning.cv_folds"))]
    skipped = train(compose_cfg([*fixed, "tuning.cv_folds=2", "tracking.resume=true"]))
    assert skipped == {k: v for k, v in children["2"].data.metrics.items() if k.startswith("test/")}
    with pytest.raises(UserError, match="needs at least 20 training images"):
        train(compose_cfg([*fixed, "tuning.cv_folds=20", "tracking.resume=true"]))
    statuses = sorted(r.info.status for r in runs(client, experiment, "job"))
    assert statuses == ["FAILED", "FAILED", "FINISHED"]
