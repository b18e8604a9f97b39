"""The generated demo dataset in the Kaggle layout, read back through the real loader."""

from __future__ import annotations

import csv
import logging

import numpy as np
import pytest
from PIL import Image

from jfd_testing import compose_cfg, job_inputs, tiny_overrides
from jpegai_fd.extract import extract_latents
from jfd_testing import load_splits
from jpegai_fd.datasets import read_split, sample_balanced
from jpegai_fd.datasets.synthetic import generate
from jpegai_fd.errors import UserError


def test_generated_dataset_has_the_kaggle_layout(tmp_path):
    root = tmp_path / "demo"
    generate(root, seed=5, size=64, num_per_class={"train": 4, "valid": 2, "test": 3})
    for split, n in (("train", 8), ("valid", 4), ("test", 6)):
        with (root / f"{split}.csv").open() as handle:
            rows = list(csv.DictReader(handle))
        assert list(rows[0]) == ["id", "original_path", "label", "label_str", "path"]
        assert len(rows) == n
        assert {(r["label"], r["label_str"]) for r in rows} == {("1", "real"), ("0", "fake")}
        for row in rows:
            assert row["path"].startswith(f"{split}/{row['label_str']}/")
            with Image.open(root / "real_vs_fake" / "real-vs-fake" / row["path"]) as image:
                assert image.format == "JPEG" and image.size == (64, 64) and image.mode == "RGB"
    assert not list(tmp_path.glob("*.tmp-*"))


def test_generation_is_deterministic_and_seeded(tmp_path):
    counts = {"train": 2, "valid": 1, "test": 1}
    generate(tmp_path / "a", 1, 64, counts)
    generate(tmp_path / "b", 1, 64, counts)
    generate(tmp_path / "c", 2, 64, counts)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.jpg"))
    assert len(files) == 8
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert any((tmp_path / "a" / r).read_bytes() != (tmp_path / "c" / r).read_bytes() for r in files)


def test_classes_do_not_differ_in_size_format_or_brightness(tmp_path):
    generate(tmp_path / "d", 0, 128, {"train": 20, "valid": 0, "test": 0})
    split = read_split(tmp_path / "d", "train", "synthetic")
    stats = {0: [], 1: []}
    for path, label in zip(split.paths, split.labels):
        with Image.open(path) as image:
            stats[int(label)].append((image.size, image.format, np.asarray(image).mean()))
    for label in (0, 1):
        assert {s[:2] for s in stats[label]} == {((128, 128), "JPEG")}
    means = {label: np.mean([s[2] for s in stats[label]]) for label in (0, 1)}
    assert abs(means[0] - means[1]) < 15


def test_load_splits_generates_once_and_samples_balanced(tmp_path):
    cfg = compose_cfg([*tiny_overrides(tmp_path), "dataset.num_train=10", "dataset.num_test=4"])
    train, test = load_splits(cfg)
    assert len(train) == 10 and np.bincount(train.labels).tolist() == [5, 5]
    assert len(test) == 4 and np.bincount(test.labels).tolist() == [2, 2]
    again, _ = load_splits(cfg)
    np.testing.assert_array_equal(again.ids, train.ids)
    assert len(sample_balanced(train, 30, 0, "dataset.num_train")) == 10  # at most what the split has


def test_num_valid_above_what_the_split_has_takes_them_all_saying_so_in_one_line(tmp_path, caplog):
    with caplog.at_level(logging.INFO):  # the extract command's work, in-process
        extract_latents(*job_inputs(compose_cfg([*tiny_overrides(tmp_path), "dataset.num_valid=1000"])))
    said = [line for line in caplog.text.splitlines() if "'dataset.num_valid=1000' asks for" in line]
    assert len(said) == 1 and "than split 'valid' has (6 fake and 6 real): using all of those" in said[0]
    assert "valid 12 new" in caplog.text


def test_missing_root_and_csv_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="dataset.root .* does not exist") as info:
        read_split(tmp_path / "nowhere", "train")
    assert "\n" not in str(info.value) and "train.csv" in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="missing .*train.csv"):
        read_split(tmp_path / "empty", "train")


def test_duplicate_ids_are_rejected_naming_the_rows(tmp_path):
    root = tmp_path / "dup"
    root.mkdir()
    (root / "train.csv").write_text(
        "id,original_path,label,label_str,path\n"
        "a,x,1,real,train/real/a.jpg\nb,x,0,fake,train/fake/b.jpg\na,x,0,fake,train/fake/c.jpg\n"
    )
    with pytest.raises(UserError, match="duplicate id 'a' on lines 2 and 4"):
        read_split(root, "train")
