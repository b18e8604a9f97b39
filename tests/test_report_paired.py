"""The report's scores a lab can check: headline cells ``0.853 ± 0.013`` at the validation-chosen
threshold (older runs fall back to the 0.5 rule, marked), the paired comparison of runs on the same
test images (``≈``: not significantly different from the best), comparisons.md/.csv, error bars.

Runs are real MLflow runs on the test server, with the metric names the job logs (computed by
``jpegai_fd.scoring.evaluate.evaluate_split`` from generated scores) and a real
``scores/test_scores.csv`` artifact written by ``scores_csv``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from jpegai_fd.model.decision import Decision
from jpegai_fd.report.__main__ import main as report_main
from jpegai_fd.report.tables import cell_text, results_cells, results_table
from jpegai_fd.report.charts import component_chart
from jpegai_fd.scoring.evaluate import evaluate_split
from jpegai_fd.scoring.per_image import scores_csv
from jpegai_fd.scoring.settings import ScoringSettings

N = 200  # test images, half fake (label 0), half real (label 1)
LABELS = np.repeat([0, 1], N // 2)
IDS = np.array([f"img{i:04d}" for i in range(N)])


def p_fake(separation: float, seed: int) -> np.ndarray:
    """Scores with a chosen class separation: 3 is a good detector (~0.9 accuracy), 0.2 near chance."""
    rng = np.random.default_rng(seed)
    return 1 / (1 + np.exp(-(separation * (LABELS == 0) - separation / 2 + rng.normal(0, 1, N))))


def log_job(client, exp, parent, factors: dict, scores: np.ndarray | None, manifest: str | None, start: int) -> str:
    """A FINISHED job run. With ``scores``: the metrics the job logs and its per-image score file;
    without: an old-style run (fixed-rule accuracy only, no artifact, no manifest tag)."""
    tags = {"jpegai_fd.role": "job", "mlflow.parentRunId": parent, "encoder": "dct", "dataset": "synthetic"}
    tags |= {"jpegai_fd.config_hash": "-".join(map(str, factors.values())), **{k: str(v) for k, v in factors.items()}}
    if manifest:
        tags["dataset.test_manifest"] = manifest
    run_id = client.create_run(exp, tags=tags, start_time=start).info.run_id
    if scores is None:
        metrics = {"test/accuracy": 0.71, "test/roc_auc": 0.77, "time/fit_s": 1.0, "time/tune_s": 3.0}
    else:
        split = evaluate_split(
            LABELS, 1 - scores, np.arange(N), N, Decision(), ScoringSettings(bootstrap_resamples=200)
        )
        metrics = {f"test/{k}": v for k, v in split.metrics.items()}
        metrics |= {"threshold/value": 0.5, "time/fit_s": 1.0, "time/tune_s": 3.0}
        pred = np.where(split.fake, 0, 1)
        client.log_text(run_id, scores_csv(IDS, LABELS, split.score, pred), "scores/test_scores.csv")
    client.log_batch(run_id, metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()])
    client.set_terminated(run_id, "FINISHED")
    return run_id


def config(clf="rf", bpp=12, comp="yuv", pre="flatten", lat="y") -> dict:
    return {"classifier": clf, "bpp": bpp, "component": comp, "preprocess": pre, "latent": lat}


@pytest.fixture
def logged(mlflow_server, experiment_name):
    """A sweep of five jobs: a good run and an identical copy of its scores (the two latents of one
    row), a much worse run, an old-style run, and a run alone on other test images."""
    client = MlflowClient(mlflow_server.uri)
    exp = client.create_experiment(experiment_name)
    parent = client.create_run(exp, run_name="sweep paired", tags={"jpegai_fd.role": "sweep"}).info.run_id
    good = p_fake(3.0, seed=1)
    ids = {
        "good": log_job(client, exp, parent, config(lat="y"), good, "m1", 1),
        "copy": log_job(client, exp, parent, config(lat="y_hat"), good.copy(), "m1", 2),
        "worse": log_job(client, exp, parent, config(bpp=6), p_fake(0.2, seed=2), "m1", 3),
        "old": log_job(client, exp, parent, config(bpp=6, lat="y_hat"), None, None, 4),
        "alone": log_job(client, exp, parent, config(clf="hgb"), p_fake(2.0, seed=3), "m2", 5),
    }
    client.set_terminated(parent, "FINISHED")
    return client, parent, {k: client.get_run(v) for k, v in ids.items()}


def test_report_marks_copies_alike_a_worse_run_different_and_old_runs_fallen_back(
    logged, mlflow_server, experiment_name, tmp_path
):
    client, parent, runs = logged
    out = tmp_path / "report"
    args = ["--tracking-uri", mlflow_server.uri, "--experiment", experiment_name, "--sweep", "sweep paired"]
    assert report_main([*args, "--out", str(out), "--resamples", "300"]) == 0  # in-process

    m = {k: r.data.metrics for k, r in runs.items()}
    ok = m["good"]
    assert ok["test/accuracy_at_valid"] > 0.8 and m["worse"]["test/accuracy_at_valid"] < 0.65
    cell = f"{ok['test/accuracy_at_valid']:.3f} ± {(ok['test/accuracy_at_valid_ci_high'] - ok['test/accuracy_at_valid_ci_low']) / 2:.3f}"
    md = (out / "results.md").read_text()
    # The identical copies: one is the best (bold), the other not significantly different.
    assert f"| RF | 12 | YUV | flatten | **{cell}** | {cell} ≈ |" in md or f"| {cell} ≈ | **{cell}** |" in md
    worse = m["worse"]
    worse_cell = f"{worse['test/accuracy_at_valid']:.3f} ± "
    (worse_row,) = [line for line in md.splitlines() if line.startswith("| RF | 6 | YUV | flatten |")][:1]
    assert worse_cell in worse_row and "≈" not in worse_row and "**" not in worse_row
    assert worse_row.endswith("| 0.710 † |")  # the old run: fixed-rule accuracy, no interval, marked
    assert "† run logged before thresholds were chosen" in md and "uncorrected" in md and "comparisons.md" in md
    assert "## ROC AUC" in md

    table = pd.read_csv(out / "results.csv")
    assert list(table.columns[:6]) == ["model", "bpp", "component", "preprocess", "y", "y_hat"]
    row = table[(table.bpp == 12) & (table.model == "RF")].iloc[0]
    assert row["y"] == pytest.approx(ok["test/accuracy_at_valid"])
    assert row["y_ci_low"] == pytest.approx(ok["test/accuracy_at_valid_ci_low"])
    assert row["y_hat_ci_high"] == pytest.approx(ok["test/accuracy_at_valid_ci_high"])
    old = table[(table.bpp == 6)].iloc[0]
    assert old["y_hat_metric"] == "test/accuracy" and np.isnan(old["y_hat_ci_low"])
    assert old["y_metric"] == "test/accuracy_at_valid"

    comp = pd.read_csv(out / "comparisons.csv").set_index("run_id")
    status = {k: comp.at[r.info.run_id, "status"] for k, r in runs.items()}
    assert {status["good"], status["copy"]} == {"best", "not significant"}
    assert status["worse"] == "significant" and status["old"] == "not comparable"
    assert status["alone"] == "only run on its test images"
    twin = comp.loc[runs["copy" if status["copy"] != "best" else "good"].info.run_id]
    assert (twin.mcnemar_b, twin.mcnemar_c, twin.mcnemar_p, twin.auc_difference) == (0, 0, 1.0, 0.0)
    w = comp.loc[runs["worse"].info.run_id]
    assert w.mcnemar_b > w.mcnemar_c and w.mcnemar_p < 0.01 and w.mcnemar_method.startswith("chi-square")
    assert w.auc_difference_low > 0 and w.auc_difference_p < 0.05 and w.images == N
    assert "scores/test_scores.csv" in comp.at[runs["old"].info.run_id, "reason"]

    text = (out / "comparisons.md").read_text()
    assert (
        "## Not comparable (1 run)" in text
        and "uncorrected" in text
        and "## Test images `m1` (200 images, 3 runs)" in text
    )
    for latent in ("y", "y_hat"):
        assert (out / f"y_vs_yuv_{latent}.png").read_bytes()[:4] == b"\x89PNG"
    logged_files = {a.path for a in client.list_artifacts(parent, "report")}
    assert {"report/comparisons.md", "report/comparisons.csv", "report/results.md", "report/auc.csv"} <= logged_files


def _frame(at_valid: bool) -> pd.DataFrame:
    rows = []
    for comp in ("y", "yuv"):
        for bpp in (6, 12):
            acc = 0.7 + 0.1 * (comp == "yuv") + 0.005 * bpp
            row = {"run_id": f"{comp}{bpp}", "classifier": "rf", "bpp": bpp, "component": comp}
            row |= {"preprocess": "single", "latent": "y_hat", "encoder": "dct", "dataset": "synthetic"}
            row["test/accuracy"] = acc - 0.05
            if at_valid:
                row |= {
                    "test/accuracy_at_valid": acc,
                    "test/accuracy_at_valid_ci_low": acc - 0.03,
                    "test/accuracy_at_valid_ci_high": acc + 0.02,
                }
            rows.append(row)
    return pd.DataFrame(rows)


def test_cell_text():
    assert cell_text(0.8532, 0.84, 0.866) == "0.853 ± 0.013"
    assert cell_text(0.8532, 0.84, 0.866, "≈", best=True) == "**0.853 ± 0.013** ≈"
    assert cell_text(0.71, float("nan"), float("nan"), "†") == "0.710 †"
    assert cell_text(float("nan")) == "–"


def test_headline_prefers_the_valid_threshold_and_marks_the_fallback():
    new, old = _frame(True), _frame(False)
    assert results_table(new)["y_hat"].tolist() == pytest.approx([0.73, 0.76, 0.83, 0.86])
    assert results_table(old)["y_hat"].tolist() == pytest.approx([0.68, 0.71, 0.78, 0.81])
    assert set(results_cells(new)["y_hat"]) == {"0.730 ± 0.025", "0.760 ± 0.025", "0.830 ± 0.025", "0.860 ± 0.025"}
    assert results_cells(old)["y_hat"].tolist() == ["0.680 †", "0.710 †", "0.780 †", "0.810 †"]


def test_charts_draw_error_bars_from_the_logged_intervals_and_name_old_runs():
    mixed = pd.concat([_frame(True).iloc[:2], _frame(False).iloc[2:]])
    fig = component_chart(mixed, "y_hat")
    ax = fig.axes[0]
    y_bars, yuv_bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    (segment,) = y_bars.lines[2][0].get_segments()  # Y at bpp=6: 0.73 in [0.70, 0.75]
    assert segment[:, 1].tolist() == pytest.approx([0.70, 0.75])
    (fixed,) = yuv_bars.lines[2][0].get_segments()  # the fixed-rule run has no interval: nothing drawn
    assert fixed.size == 0
    texts = "\n".join(t.get_text() for t in fig.texts)
    assert "2 run(s) logged before validation thresholds" in texts
    assert ax.get_ylabel() == "accuracy (valid threshold)"
    new = component_chart(_frame(True), "y_hat")
    assert "logged before" not in "\n".join(t.get_text() for t in new.texts)


def test_bad_comparison_settings_are_one_error_line(capsys):
    from jpegai_fd.report.__main__ import main

    assert main(["--alpha", "1.5"]) == 2  # checked before any tracking URI is read
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "use an alpha strictly between 0 and 1" in err
    assert main(["--resamples", "0"]) == 2 and "at least 1 resample" in capsys.readouterr().err
