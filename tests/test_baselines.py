"""The baselines a latent detector must beat: a classifier of file properties only (``classifier=metadata``), trained
and scored like the others, which the report puts beside them, and a training-free latent one (``classifier=centroid``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.utils.estimator_checks import check_estimator

from jfd_testing import build_group, compose_cfg, run_cli, tiny_overrides, train
from jpegai_fd.classifiers.centroid import CentroidClassifier
from jpegai_fd.datasets.file_info import PROPERTY_COLUMNS, property_matrix
from jpegai_fd.errors import UserError
from jpegai_fd.report.__main__ import main as report_main
from test_job_scores import write_folder


def runs_by_classifier(tmp_path) -> dict:
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id], "tags.`jpegai_fd.role`='job'")
    return {r.data.tags["classifier"]: r for r in runs}


@pytest.mark.parametrize("estimator", [CentroidClassifier(), CentroidClassifier(n_neighbors=3)])
def test_centroid_classifier_follows_scikit_learn_conventions(estimator):
    failed = [c for c in check_estimator(estimator, on_fail=None) if c["status"] == "failed"]
    assert not failed, [(c["check_name"], str(c["exception"])[:200]) for c in failed]


def test_centroid_classifier_pools_each_channel_over_the_grid():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 40)
    latents = rng.normal(size=(80, 3, 4, 4))
    latents[y == 1, 1] += 1.0  # one channel's mean (4 sigma over 16 positions) tells the classes apart
    X = latents.reshape(80, -1)
    for k in (0, 5):
        model = CentroidClassifier(grid=(4, 4), n_neighbors=k).fit(X[::2], y[::2])
        assert (model.predict(X[1::2]) == y[1::2]).mean() > 0.9
        assert model.predict_proba(X[1::2]).shape == (40, 2)
    with pytest.raises(UserError, match=r"classifier.estimator.grid=\[5, 5\] does not divide the 48 features"):
        CentroidClassifier(grid=(5, 5)).fit(X, y)


def test_file_properties_are_one_row_of_numbers_per_file(tmp_path):
    write_folder(tmp_path, 2)
    X = property_matrix(sorted(tmp_path.rglob("*.*")))  # fake/*.png, then real/*.jpg
    columns = dict(zip(PROPERTY_COLUMNS, X.T))
    assert X.shape == (4, 6) and (columns["width"] == 64).all() and (columns["file_size"] > 0).all()
    assert list(columns["format"]) == [1, 1, 0, 0] and list(columns["jpeg_quality"] > 0) == [False, False, True, True]


def test_metadata_classifier_refuses_extra_test_sets_before_any_work(tmp_path):
    args = [*tiny_overrides(tmp_path), "classifier=metadata", "eval_bpp=[6]"]
    result = run_cli("jpegai_fd", args, cwd=tmp_path, timeout=300)
    assert result.returncode == 2
    assert "jpegai_fd: error: " in result.stderr and "classifier=metadata scores the file properties" in result.stderr
    assert not (tmp_path / "cache.zarr").exists()
    assert build_group(compose_cfg(["classifier=metadata"]), "classifier").file_properties is True


@pytest.mark.slow
def test_metadata_baseline_learns_png_fakes_and_the_report_flags_a_detector_not_above_it(tmp_path):
    write_folder(tmp_path / "faces", 30)
    folder = ["dataset=folder", f"dataset.root={tmp_path}/faces", "dataset.image_size=64"]
    for classifier in ("rf", "metadata"):  # in-process, the two jobs of classifier=rf,metadata
        train(compose_cfg([*tiny_overrides(tmp_path), *folder, f"classifier={classifier}"]))
    runs = runs_by_classifier(tmp_path)
    metadata, rf = runs["metadata"], runs["rf"]
    assert metadata.data.metrics["test/roc_auc"] > 0.9 and metadata.data.metrics["data/num_features"] == 6
    assert metadata.data.tags["dataset.test_manifest"] == rf.data.tags["dataset.test_manifest"]

    out = tmp_path / "report"
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    assert report_main(["--tracking-uri", uri, "--out", str(out), "--resamples", "200"]) == 0
    comparisons = pd.read_csv(out / "comparisons.csv").set_index("run_id")
    assert comparisons.at[rf.info.run_id, "above_baseline"] == False  # noqa: E712 (False, not missing)
    assert pd.isna(comparisons.at[metadata.info.run_id, "above_baseline"])
    md = (out / "results.md").read_text()
    (rf_row,) = [line for line in md.splitlines() if line.startswith("| RF |")][:1]
    assert "‡" in rf_row and "‡: test ROC AUC not significantly above the file-property baseline" in md


@pytest.mark.slow
def test_centroid_baseline_scores_above_chance_on_the_demo(tmp_path):
    # 20 test images per class: a bootstrap interval narrow enough to tell a baseline from chance.
    train(compose_cfg(tiny_overrides(tmp_path, train=20, test=20, classifier="centroid")))
    metrics = runs_by_classifier(tmp_path)["centroid"].data.metrics
    assert metrics["test/roc_auc_ci_low"] > 0.6
