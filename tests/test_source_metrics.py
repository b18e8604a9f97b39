"""Per-source breakdown: a set whose fakes (or reals) come from several sources logs, beside the pooled metrics,
each source's rate at the valid cut; the per-image scores name each image's source; the report lists them."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from jfd_testing import compose_cfg, tiny_overrides, train
from jpegai_fd.datasets.folder import FolderDataset
from jpegai_fd.datasets.generators import make_image
from jpegai_fd.report.__main__ import main as report_main


def write_images(folder, label: int, count: int, seed: int, generator: str = "legacy") -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        pixels, _ = make_image(label, seed, i, 64, generator)
        Image.fromarray(pixels).save(folder / f"{i:03d}.png")


def test_each_source_gets_its_rate_at_the_cut_and_a_one_source_set_none():
    from jpegai_fd.scoring.metrics import source_metrics

    y = np.array([0, 0, 0, 0, 1, 1, 1])  # 1 real, 0 fake
    sources = np.array(["gan", "gan", "sd", "sd", "faces", "faces", "faces"])
    fake_pred = np.array([True, True, False, True, True, False, False])
    score = np.array([0.9, 0.8, 0.1, 0.7, 0.6, 0.2, 0.3])
    m = source_metrics(sources, y, fake_pred, score)
    assert m["source/gan/fake_recall"] == 1.0 and m["source/sd/fake_recall"] == 0.5 and m["source/sd/n_fake"] == 2
    assert m["source/faces/false_alarm_rate"] == pytest.approx(1 / 3) and m["source/faces/n_real"] == 3
    assert m["source/gan/roc_auc_fake"] == 1.0 and m["source/sd/roc_auc_fake"] == pytest.approx(0.5)
    assert source_metrics(np.array(["x"] * 7), y, fake_pred, score) == {}
    assert (
        list(source_metrics(np.array(["a b:c"] * 2 + ["d"] * 5), y, fake_pred, score))[0] == "source/a b_c/fake_recall"
    )


def test_a_fake_sub_folder_is_the_source_of_its_images(tmp_path):
    write_images(tmp_path / "real", 1, 3, 1)
    write_images(tmp_path / "fake" / "gan", 0, 3, 1)
    keys = {"name": "faces", "root": str(tmp_path), "image_size": 64, "size_policy": "keep", "max_bad_fraction": 0}
    keys |= {"train_split": "train", "valid_split": "valid", "test_split": "test", "num_train": None, "num_test": None}
    fractions = {"train": 0.0, "valid": 0.0, "test": 1.0}
    dataset = FolderDataset(
        seed=0, classes={"real": "real", "fake": "fake"}, split_files={}, split_fractions=fractions, **keys
    )
    split = dataset.listing("test")
    assert dict(zip(split.ids, split.source_names())) == {
        **{f"real/{i:03d}.png": "faces" for i in range(3)},
        **{f"fake/gan/{i:03d}.png": "gan" for i in range(3)},
    }
    picked = split.subset(np.array([5, 0]))
    assert list(picked.source_names()) == ["faces", "gan"] and list(picked.source_names(["fake/gan/000.png"])) == [
        "gan"
    ]


def test_a_job_on_two_fake_sources_logs_each_sources_recall_and_the_report_lists_them(tmp_path):
    faces = tmp_path / "faces"
    write_images(faces / "real", 1, 24, 3)
    write_images(faces / "fake" / "gan", 0, 12, 3)
    write_images(faces / "fake" / "diffusion", 0, 12, 3, "diffusion")
    write_images(tmp_path / "plain" / "real", 1, 4, 5)
    write_images(tmp_path / "plain" / "fake", 0, 4, 5)
    overrides = [
        *tiny_overrides(tmp_path),
        "dataset=folder",
        f"dataset.root={faces}",
        "dataset.image_size=64",
        "dataset.split_fractions={train: 0.5, valid: 0.25, test: 0.25}",
        "scoring.bootstrap_resamples=0",
        "+dataset@eval.plain=folder",
        f"eval.plain.root={tmp_path}/plain",
        "eval.plain.image_size=64",
        "eval_bpp=[6]",
    ]
    metrics = train(compose_cfg(overrides))

    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id])
    text = open(client.download_artifacts(run.info.run_id, "scores/test_scores.csv", str(tmp_path))).read()
    scores = pd.read_csv(io.StringIO(text))
    assert set(scores["source"]) == {"gan", "diffusion", "folder"}
    for source, rows in scores[scores["label"] == 0].groupby("source"):  # pred 0: called fake
        assert metrics[f"test/source/{source}/fake_recall"] == pytest.approx((rows["pred"] == 0).mean())
        assert metrics[f"test/source/{source}/n_fake"] == len(rows)
    reals = scores[scores["label"] == 1]
    assert metrics["test/source/folder/false_alarm_rate"] == pytest.approx((reals["pred"] == 0).mean())
    assert "valid/source/gan/fake_recall" in metrics
    logged = run.data.metrics
    assert "rate/6/source/diffusion/fake_recall" in logged and "test/source/gan/roc_auc_fake" in logged
    assert "eval/plain/accuracy_at_valid" in logged and not any(k.startswith("eval/plain/source/") for k in logged)

    assert report_main(["--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db", "--out", str(tmp_path / "r")]) == 0
    table = pd.read_csv(tmp_path / "r" / "sources.csv")
    test_gan = table[(table["set"] == "test") & (table["source"] == "gan")]
    assert list(test_gan["class"]) == ["fake"] and test_gan["rate"].iloc[0] == pytest.approx(
        metrics["test/source/gan/fake_recall"]
    )
    assert {"valid", "rate/6"} <= set(table["set"]) and "| diffusion |" in (tmp_path / "r" / "sources.md").read_text()
