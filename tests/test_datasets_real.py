"""Real dataset layouts: the Kaggle 140k CSVs and a folder per class; balanced sampling; the content
manifest as cache key (one changed image means new latents) with memoised hashing."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from jfd_testing import compose_cfg
from jfd_testing import cached_latents, load_splits, load_valid_split
from jpegai_fd.datasets import manifest as manifest_mod
from jpegai_fd.datasets.folder import stratified_split
from jpegai_fd.encoders import DCTEncoder
from jpegai_fd.errors import UserError

SIZE = 32


def write_image(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (SIZE, SIZE, 3)).astype(np.uint8)).save(path)


def kaggle_dataset(root: Path, counts: dict[str, int]) -> None:
    """``counts[split]`` images per class, written in the Kaggle layout with its five CSV columns."""
    n = 0
    for split, per_class in counts.items():
        rows = []
        for label, name in ((1, "real"), (0, "fake")):
            for _ in range(per_class):
                n += 1
                rel = f"{split}/{name}/{n:05d}.jpg"
                write_image(root / "real_vs_fake" / "real-vs-fake" / rel, n)
                rows.append([f"{n:05d}", f"orig/{n}.png", label, name, rel])
        with (root / f"{split}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "original_path", "label", "label_str", "path"])
            writer.writerows(rows)


def folder_dataset(root: Path, real: int, fake: int, real_name="real", fake_name="fake") -> None:
    for i in range(real):
        write_image(root / real_name / ("sub" if i % 3 == 0 else "") / f"r{i:03d}.png", i)
    for i in range(fake):
        write_image(root / fake_name / f"f{i:03d}.png", 1000 + i)
    (root / real_name / ".DS_Store").write_bytes(b"hidden files are ignored")


def cfg_of(tmp_path, *overrides):
    return compose_cfg(
        [f"paths.cache={tmp_path}/cache.zarr", f"dataset.image_size={SIZE}", "extract.chunk_size=4", *overrides]
    )


def test_faces140k_layout_and_balanced_sampling(tmp_path):
    root = tmp_path / "140k"
    kaggle_dataset(root, {"train": 10, "valid": 3, "test": 6})
    train, test = load_splits(cfg_of(tmp_path, "dataset=faces140k", f"dataset.root={root}"))
    assert (len(train), len(test)) == (20, 12) and train.skipped == () and test.skipped == ()
    assert train.paths[0] == (root / "real_vs_fake/real-vs-fake/train/real/00001.jpg").resolve()
    sampled, sampled_test = load_splits(
        cfg_of(tmp_path, "dataset=faces140k", f"dataset.root={root}", "dataset.num_train=7", "dataset.num_test=4")
    )
    assert np.bincount(sampled.labels).tolist() == [3, 4] and np.bincount(sampled_test.labels).tolist() == [2, 2]
    assert set(sampled.ids) <= set(train.ids)
    other = load_splits(cfg_of(tmp_path, "dataset=faces140k", f"dataset.root={root}", "dataset.num_train=7", "seed=3"))[
        0
    ]
    assert set(other.ids) != set(sampled.ids)  # the seed picks the sample
    valid = load_valid_split(cfg_of(tmp_path, "dataset=faces140k", f"dataset.root={root}", "dataset.num_valid=4"))
    assert len(valid) == 4 and all("/valid/" in str(p) for p in valid.paths)
    assert np.bincount(valid.labels).tolist() == [2, 2]
    with pytest.raises(UserError, match="three different splits"):
        load_splits(cfg_of(tmp_path, "dataset=faces140k", f"dataset.root={root}", "dataset.test_split=valid"))


def test_faces140k_missing_root_and_csv_name_the_layout(tmp_path):
    with pytest.raises(UserError, match="real_vs_fake/real-vs-fake") as info:
        load_splits(cfg_of(tmp_path, "dataset=faces140k", f"dataset.root={tmp_path}/nope"))
    assert "\n" not in str(info.value) and "dataset.root" in str(info.value)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "train.csv").write_text("id,original_path,label,label_str,path\n")
    with pytest.raises(UserError, match=r"missing .*test.csv.*train.csv, valid.csv, test.csv"):
        load_splits(cfg_of(tmp_path, "dataset=faces140k", f"dataset.root={tmp_path}/half"))


def test_folder_layout_generated_split_is_stratified_and_deterministic(tmp_path):
    root = tmp_path / "faces"
    folder_dataset(root, real=20, fake=10)
    cfg = cfg_of(tmp_path, "dataset=folder", f"dataset.root={root}")
    train, test = load_splits(cfg)
    valid = load_valid_split(cfg)
    assert np.bincount(train.labels).tolist() == [7, 14] and np.bincount(test.labels).tolist() == [2, 4]
    assert np.bincount(valid.labels).tolist() == [1, 2]
    assert not (set(train.ids) & set(test.ids) or set(valid.ids) & set(train.ids) | set(valid.ids) & set(test.ids))
    assert len(train) + len(valid) + len(test) == 30
    assert "real/sub/r000.png" in set(train.ids) | set(valid.ids) | set(test.ids)
    # The valid fraction comes out of train: the test images are those of a train 0.8 / test 0.2 split.
    two_way = cfg_of(tmp_path, "dataset=folder", f"dataset.root={root}", "~dataset.split_fractions.valid")
    two_way.dataset.split_fractions.train = 0.8
    assert set(load_splits(two_way)[1].ids) == set(test.ids)
    again = load_splits(cfg)[1]
    np.testing.assert_array_equal(again.ids, test.ids)
    reseeded = load_splits(cfg_of(tmp_path, "dataset=folder", f"dataset.root={root}", "seed=7"))[1]
    assert set(reseeded.ids) != set(test.ids)
    # Adding an image never moves another image to the other split.
    write_image(root / "fake" / "f999.png", 5)
    grown_train, grown_test = load_splits(cfg)
    moved = (set(train.ids) & set(grown_test.ids)) | (set(test.ids) & set(grown_train.ids))
    assert len(moved) <= 1  # at most the rank boundary shifts by one image
    sampled = load_splits(cfg_of(tmp_path, "dataset=folder", f"dataset.root={root}", "dataset.num_train=10"))[0]
    assert np.bincount(sampled.labels).tolist() == [5, 5]


def test_stratified_split_counts():
    images = [(f"real/{i}", 1) for i in range(50)] + [(f"fake/{i}", 0) for i in range(30)]
    parts = stratified_split(images, {"train": 0.7, "valid": 0.1, "test": 0.2}, seed=0)
    counts = {k: np.bincount([lab for _, lab in v], minlength=2).tolist() for k, v in parts.items()}
    assert counts == {"train": [21, 35], "valid": [3, 5], "test": [6, 10]}


def test_folder_layout_with_split_files_and_renamed_classes(tmp_path):
    root = tmp_path / "faces"
    folder_dataset(root, real=4, fake=4, real_name="camera", fake_name="gan")
    (root / "lists").mkdir()
    (root / "lists" / "train.txt").write_text(
        "# training images\ncamera/r001.png\ngan/f000.png\n\ngan/f001.png\nelsewhere/x.png\n../outside.png\n"
    )
    (root / "lists" / "test.txt").write_text("camera/r002.png\ngan/f002.png\n")
    base = ["dataset=folder", f"dataset.root={root}", "dataset.classes.real=camera", "dataset.classes.fake=gan"]
    cfg = cfg_of(
        tmp_path,
        *base,
        "+dataset.split_files.train=lists/train.txt",
        "+dataset.split_files.test=lists/test.txt",
        "dataset.max_bad_fraction=0.5",
    )
    train, test = load_splits(cfg)
    assert list(train.ids) == ["camera/r001.png", "gan/f000.png", "gan/f001.png"]
    assert train.labels.tolist() == [1, 0, 0] and len(test) == 2
    assert {s.id for s in train.skipped} == {"elsewhere/x.png", "../outside.png"}
    (root / "lists" / "test.txt").write_text("camera/r002.png\ncamera/r002.png\n")
    with pytest.raises(UserError, match="duplicate entry 'camera/r002.png' on lines 1 and 2"):
        load_splits(cfg)
    with pytest.raises(UserError, match=r"missing class folder .*real.*dataset.classes") as info:
        load_splits(cfg_of(tmp_path, "dataset=folder", f"dataset.root={root}"))
    assert "\n" not in str(info.value)
    with pytest.raises(UserError, match="does not exist; it must hold one sub-folder per class"):
        load_splits(cfg_of(tmp_path, "dataset=folder", f"dataset.root={tmp_path}/none"))


def test_one_changed_image_invalidates_the_cache_and_hashes_are_memoised(tmp_path, monkeypatch):
    root = tmp_path / "140k"
    kaggle_dataset(root, {"train": 6, "test": 2})
    cfg = cfg_of(tmp_path, "dataset=faces140k", f"dataset.root={root}")
    hashed = []
    real_digest = manifest_mod.file_digest
    monkeypatch.setattr(manifest_mod, "file_digest", lambda p: hashed.append(p) or real_digest(p))
    train, _ = load_splits(cfg)
    first, stats = cached_latents(cfg, train, DCTEncoder())
    assert stats.extracted == 12 and len(hashed) == 12
    assert (tmp_path / "cache.zarr.hashes.sqlite").is_file()
    hashed.clear()
    same, again = cached_latents(cfg, train, DCTEncoder())
    assert again.extracted == 0 and hashed == []  # unchanged files: one stat each, no hashing
    assert same.group.path == first.group.path
    # Rewrite one image with other pixels (same size in bytes is irrelevant: the content hash decides).
    target = train.paths[5]
    Image.fromarray(np.full((SIZE, SIZE, 3), 200, np.uint8)).save(target)
    os.utime(target, ns=(1, 1))
    changed, third = cached_latents(cfg, train, DCTEncoder())
    assert hashed == [target]
    assert changed.group.path != first.group.path and third.extracted == 12
    assert not np.array_equal(changed.array("y", "model_y")[5], first.array("y", "model_y")[5])
    np.testing.assert_array_equal(changed.array("y", "model_y")[:5], first.array("y", "model_y")[:5])
    # Another size policy reads other pixels: another group too.
    resized = cfg_of(tmp_path, "dataset=faces140k", f"dataset.root={root}", "dataset.size_policy=resize")
    assert cached_latents(resized, train, DCTEncoder())[0].group.path != changed.group.path
