"""`python -m jpegai_fd.report` on a small grid of job runs with known accuracies and timings."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from jfd_testing import run_cli
from jpegai_fd.report.__main__ import main as report_main
from jpegai_fd.report.build import write_report

GRID = list(itertools.product(("rf", "hgb"), (6, 12), ("y", "yuv"), ("flatten", "single", "multi"), ("y", "y_hat")))


def accuracy(clf, bpp, comp, pre, lat) -> float:
    """A distinct, known value per grid point."""
    return round(
        0.5
        + 0.2 * (clf == "hgb")
        + 0.01 * bpp
        + 0.05 * (comp == "yuv")
        + {"flatten": 0.1, "single": 0.0, "multi": -0.05}[pre]
        - 0.003 * (lat == "y_hat"),
        4,
    )


def log_grid(uri: str, experiment: str, grid=GRID) -> str:
    """Job runs of the whole grid under one sweep parent, as the job logs them; returns the parent id.
    One config is logged twice (a rerun): the report keeps the latest."""
    client = MlflowClient(uri)
    exp = client.create_experiment(experiment)
    parent = client.create_run(exp, run_name="sweep test-grid", tags={"jpegai_fd.role": "sweep"}).info.run_id
    for i, (clf, bpp, comp, pre, lat) in enumerate([*grid, grid[0]]):
        tags = {
            "jpegai_fd.role": "job",
            "mlflow.parentRunId": parent,
            "jpegai_fd.config_hash": f"h{i % len(grid)}",
            "classifier": clf,
            "bpp": str(bpp),
            "component": comp,
            "preprocess": pre,
            "latent": lat,
            "encoder": "dct",
            "dataset": "synthetic",
        }
        run = client.create_run(exp, tags=tags, start_time=1_000_000 + i)
        acc = accuracy(clf, bpp, comp, pre, lat) if i < len(grid) else 0.999  # the rerun of grid[0]
        fit = {"flatten": 600.0, "single": 10.0, "multi": 100.0}[pre] * (2 if clf == "rf" else 1)
        client.log_batch(
            run.info.run_id,
            metrics=[
                Metric("test/accuracy", acc, 0, 0),
                Metric("time/fit_s", fit, 0, 0),
                Metric("time/tune_s", 3 * fit, 0, 0),
            ],
        )
        client.set_terminated(run.info.run_id, "FINISHED")
    failed = client.create_run(exp, tags={"jpegai_fd.role": "job", "mlflow.parentRunId": parent, "classifier": "rf"})
    client.set_terminated(failed.info.run_id, "FAILED")  # failed runs are left out
    client.set_terminated(parent, "FINISHED")
    return parent


@pytest.mark.slow
def test_report_tables_and_charts_for_a_grid(mlflow_server, experiment_name, tmp_path):
    parent = log_grid(mlflow_server.uri, experiment_name)
    out = tmp_path / "report"
    result = run_cli(
        "jpegai_fd.report",
        [
            "--tracking-uri",
            mlflow_server.uri,
            "--experiment",
            experiment_name,
            "--sweep",
            "sweep test-grid",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"report of {len(GRID)} runs" in result.stdout

    table = pd.read_csv(out / "results.csv")
    # Runs logged before validation thresholds: the fixed-rule accuracy, without intervals, named.
    assert list(table.columns) == [
        *["model", "bpp", "component", "preprocess", "y", "y_hat"],
        *["y_ci_low", "y_ci_high", "y_metric", "y_hat_ci_low", "y_hat_ci_high", "y_hat_metric"],
    ]
    assert set(table.y_metric) == set(table.y_hat_metric) == {"test/accuracy"} and table.y_ci_low.isna().all()
    assert len(table) == 24  # 2 models x 2 bpp x 2 components x 3 preprocessings
    names = {"rf": "RF", "hgb": "GB"}
    for clf, bpp, comp, pre in {g[:4] for g in GRID}:
        row = table[
            (table.model == names[clf])
            & (table.bpp == bpp)
            & (table.component == comp.upper())
            & (table.preprocess == pre)
        ]
        expected_y = 0.999 if (clf, bpp, comp, pre) == GRID[0][:4] else accuracy(clf, bpp, comp, pre, "y")
        assert row["y"].item() == pytest.approx(expected_y)
        assert row["y_hat"].item() == pytest.approx(accuracy(clf, bpp, comp, pre, "y_hat"))
    # Thesis order: model, then component, bpp and preprocessing flatten, single, multi.
    assert list(table.preprocess[:3]) == ["flatten", "single", "multi"]
    md = (out / "results.md").read_text()
    assert "| model | bpp | component | preprocess | y | y_hat |" in md
    assert f"| GB | 6 | Y | flatten | {accuracy('hgb', 6, 'y', 'flatten', 'y'):.3f} † | " in md
    assert "† run logged before thresholds were chosen on validation images" in md
    comparisons = pd.read_csv(out / "comparisons.csv")  # no run logged per-image scores
    assert len(comparisons) == len(GRID) and set(comparisons.status) == {"not comparable"}

    timing = pd.read_csv(out / "timing.csv")
    rf_flatten = timing[(timing.model == "RF") & (timing.preprocess == "flatten")]
    assert rf_flatten["fit_s"].tolist() == [1200.0, 1200.0] and rf_flatten["runs"].tolist() == [4, 4]
    timing_md = (out / "timing.md").read_text()
    assert "| RF | YUV | ~20 min | 20.0 s | ~3 min |" in timing_md  # fit: flatten, single, multi
    assert "| GB | Y | ~30 min | 30.0 s | ~5 min |" in timing_md  # tune = 3 x fit

    for latent in ("y", "y_hat"):
        for chart in (f"y_vs_yuv_{latent}.png", f"classifiers_by_bpp_{latent}.png"):
            assert (out / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    logged = {a.path for a in MlflowClient(mlflow_server.uri).list_artifacts(parent, "report")}
    assert logged == {f"report/{p.name}" for p in out.iterdir()}


@pytest.mark.slow
def test_report_of_all_runs_from_a_sqlite_file_logs_nothing(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    small = [g for g in GRID if g[1] == 6 and g[2] == "yuv"]  # a sqlite file takes ~0.2 s per run to log
    parent = log_grid(uri, "grid", small)
    assert report_main(["--tracking-uri", uri, "--experiment", "grid", "--out", str(tmp_path / "r")]) == 0
    table = pd.read_csv(tmp_path / "r" / "results.csv")
    assert len(table) == 6 and set(table.model) == {"RF", "GB"} and set(table.component) == {"YUV"}
    assert MlflowClient(uri).list_artifacts(parent) == []


@pytest.mark.slow
def test_report_errors_are_one_line(tmp_path, mlflow_server, experiment_name, capsys):
    MlflowClient(mlflow_server.uri).create_experiment(experiment_name)
    # As a process (exit code 2, stderr only that line), then the other errors of the same path in-process.
    result = run_cli("jpegai_fd.report", ["--tracking-uri", mlflow_server.uri, "--experiment", "nope"], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "no experiment 'nope'" in result.stderr
    for args, expected in (
        (["--experiment", experiment_name, "--sweep", "no-such-sweep"], "no sweep 'no-such-sweep'"),
        (["--experiment", experiment_name], "no FINISHED job runs"),
    ):
        assert report_main(["--tracking-uri", mlflow_server.uri, *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err.splitlines() == [err] and err.startswith("jpegai_fd.report: error: ") and expected in err


def test_timing_tables_of_runs_without_fit_times(tmp_path):
    # Runs that logged no time/fit_s (older runs, hand-built tables): blank fit cells, the tune table intact.
    runs = pd.DataFrame(
        [
            {"run_id": f"r{i}", "classifier": clf, "bpp": 12, "component": "yuv", "preprocess": pre, "latent": "y"}
            | {"encoder": "dct", "dataset": "synthetic", "test/accuracy": 0.7, "time/tune_s": 30.0}
            for i, (clf, pre) in enumerate((("rf", "flatten"), ("rf", "single"), ("hgb", "flatten")))
        ]
    )
    write_report(runs, tmp_path, "no fit times")
    timing = (tmp_path / "timing.md").read_text()
    fit, tune = timing.split("## Hyperparameter search")
    assert "| RF | YUV |  |  |" in fit and "| GB | YUV |  |  |" in fit
    assert "| RF | YUV | 30.0 s | 30.0 s |" in tune and "| GB | YUV | 30.0 s |  |" in tune
    assert "fit_s" not in pd.read_csv(tmp_path / "timing.csv")
