"""A job's scores (in-process, as the command line runs it): the decision rule chosen on the valid split, the
metrics of the field with intervals, the per-image scores, and the shortcut audit of the files."""

from __future__ import annotations

import csv
import io
import json
import logging

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from jfd_testing import compose_cfg, tiny_overrides, train_in
from jpegai_fd.datasets.generators import make_image


def only_run(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id])
    return client, run


def artifact_text(client, run, path, tmp_path) -> str:
    return open(client.download_artifacts(run.info.run_id, path, str(tmp_path))).read()


@pytest.mark.slow
def test_multi_patch_job_chooses_its_cuts_on_valid_and_logs_the_scores(tmp_path):
    train_in(compose_cfg([*tiny_overrides(tmp_path), "preprocess=multi"]), tmp_path / "run")
    client, run = only_run(tmp_path)
    m = run.data.metrics
    for name in (
        "test/accuracy",
        "test/accuracy_at_valid",
        "test/balanced_accuracy_at_valid",
        "test/false_alarm_rate_at_valid",
        "test/average_precision",
        "test/eer",
        "test/tpr_at_fpr_1pct",
        "test/tpr_at_fpr_5pct",
        "test/ece",
        "test/brier",
        "test/ece_calibrated",
        "valid/balanced_accuracy_at_valid",
        "threshold/value",
        "threshold/patch_cut",
    ):
        assert name in m, name
    for name in ("roc_auc", "average_precision", "accuracy_at_valid"):
        assert m[f"test/{name}_ci_low"] <= m[f"test/{name}"] <= m[f"test/{name}_ci_high"]
    assert (m["data/train_images"], m["data/valid_images"], m["data/test_images"]) == (24, 12, 12)

    scores = list(csv.DictReader(io.StringIO(artifact_text(client, run, "scores/test_scores.csv", tmp_path))))
    assert len(scores) == 12 and list(scores[0]) == ["id", "label", "p_fake", "pred", "score", "source"]
    assert {r["source"] for r in scores} == {"synthetic"}  # one source, named after the dataset
    # The per-image decisions are the ones the metric at the chosen cut counts.
    correct = np.mean([r["pred"] == r["label"] for r in scores])
    assert correct == pytest.approx(m["test/accuracy_at_valid"])
    cut = m["threshold/value"]
    assert all((float(r["score"]) >= cut) == (r["pred"] == "0") for r in scores)
    threshold = json.loads(artifact_text(client, run, "threshold.json", tmp_path))
    assert threshold["patch_cut"] == pytest.approx(m["threshold/patch_cut"]) and threshold["share_n_valid"] == 12
    calibration = json.loads(artifact_text(client, run, "calibration.json", tmp_path))
    assert calibration["method"] == "sigmoid" and set(calibration["test"]) >= {"ece_before", "ece_after"}
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert "figures/reliability.png" in logged

    # Train, valid and test are different images; the valid ones never reached the search or the fit.
    ids = {}
    for split in ("train", "valid", "test"):
        rows = csv.DictReader(io.StringIO(artifact_text(client, run, f"dataset/{split}_manifest.csv", tmp_path)))
        ids[split] = {r["id"] for r in rows}
    assert not (ids["train"] & ids["valid"] or ids["train"] & ids["test"] or ids["valid"] & ids["test"])
    assert m["data/train_samples"] == 24 * 15  # multi trains on 15 positions of each train image only
    assert len(run.data.tags["dataset.test_manifest"]) == 16
    audit = json.loads(artifact_text(client, run, "dataset/audit.json", tmp_path))
    assert set(audit["splits"]) == {"train", "valid", "test"}


def write_folder(root, per_class: int) -> None:
    """Demo pixels with a shortcut: every real image a JPEG, every fake a PNG."""
    for label, name, ext in ((1, "real", "jpg"), (0, "fake", "png")):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels, quality = make_image(label, 3, i, 64)
            Image.fromarray(pixels).save(root / name / f"{i:03d}.{ext}", quality=quality)


@pytest.mark.slow
def test_a_folder_whose_fakes_are_png_is_flagged_once_and_tagged(tmp_path, caplog):
    write_folder(tmp_path / "faces", 20)
    args = [*tiny_overrides(tmp_path), "dataset=folder", f"dataset.root={tmp_path}/faces", "dataset.image_size=64"]
    with caplog.at_level(logging.WARNING):
        train_in(compose_cfg(args), tmp_path / "run")
    assert caplog.text.count("shortcut audit: file properties alone separate") == 1
    client, run = only_run(tmp_path)
    assert "format" in run.data.tags["audit.shortcut"].split(",")
    assert "format" in run.data.tags["warning.audit"]
    audit = json.loads(artifact_text(client, run, "dataset/audit.json", tmp_path))
    flagged = {f["property"] for f in audit["flags"]}
    assert "format" in flagged and audit["warning"] == run.data.tags["warning.audit"]
    # The folder's third fraction: 20 per class -> 14 train, 2 valid, 4 test each.
    assert (run.data.metrics["data/train_images"], run.data.metrics["data/valid_images"]) == (28, 4)
