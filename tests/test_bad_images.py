"""Robust reading: unusual but valid images become documented 8-bit RGB; bad files and paths that
escape the dataset root are skipped with a reason, never cached as done, listed in the run's manifest."""

from __future__ import annotations

import csv
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from jfd_testing import compose_cfg
from jfd_testing import cached_latents, load_splits
from jpegai_fd.datasets.images import BadImage, ImageReader
from jpegai_fd.encoders import DCTEncoder
from jpegai_fd.errors import UserError
from jfd_testing import build_features as job_features
from jfd_testing import train as run_job

SIZE = 32


def rgb(seed: int, h: int = SIZE, w: int = SIZE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3)).astype(np.uint8)


def png16(values: np.ndarray) -> bytes:
    """A 16-bit PNG (gray (H, W) or RGB (H, W, 3)) written by hand: Pillow cannot write 16-bit colour."""
    h, w = values.shape[:2]
    color = 0 if values.ndim == 2 else 2
    raw = b"".join(b"\0" + values[i].astype(">u2").tobytes() for i in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def encoded(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def test_unusual_modes_become_documented_8bit_rgb(tmp_path):
    reader = ImageReader(SIZE)
    base = rgb(1)
    gray = base[..., 0]
    cases = {}
    (tmp_path / "gray.png").write_bytes(encoded(Image.fromarray(gray), "PNG"))
    cases["gray.png"] = np.repeat(gray[..., None], 3, axis=2)
    rgba = np.dstack([base, np.full((SIZE, SIZE), 7, np.uint8)])
    (tmp_path / "rgba.png").write_bytes(encoded(Image.fromarray(rgba, "RGBA"), "PNG"))
    cases["rgba.png"] = base  # alpha dropped, colours kept as stored
    palette = Image.fromarray(base).quantize(16)
    (tmp_path / "palette.png").write_bytes(encoded(palette, "PNG", transparency=0))
    cases["palette.png"] = np.asarray(palette.convert("RGB"))
    g16 = np.random.default_rng(2).integers(0, 65536, (SIZE, SIZE)).astype(np.uint16)
    (tmp_path / "gray16.png").write_bytes(png16(g16))
    cases["gray16.png"] = np.repeat((g16 >> 8).astype(np.uint8)[..., None], 3, axis=2)
    c16 = np.random.default_rng(3).integers(0, 65536, (SIZE, SIZE, 3)).astype(np.uint16)
    (tmp_path / "rgb16.png").write_bytes(png16(c16))
    cases["rgb16.png"] = (c16 >> 8).astype(np.uint8)
    cmyk = Image.new("CMYK", (SIZE, SIZE), (0, 255, 255, 0))  # pure red ink
    (tmp_path / "cmyk.tif").write_bytes(encoded(cmyk, "TIFF"))
    cases["cmyk.tif"] = np.broadcast_to(np.array([255, 0, 0], np.uint8), (SIZE, SIZE, 3))
    for name, expected in cases.items():
        got = reader.read(tmp_path / name)
        assert got.dtype == np.uint8 and got.shape == (SIZE, SIZE, 3), name
        np.testing.assert_array_equal(got, expected, err_msg=name)
    # EXIF orientation 6 (rotate 90 degrees clockwise to display): the top-left quadrant ends top-right.
    marked = np.zeros((SIZE, SIZE, 3), np.uint8)
    marked[: SIZE // 2, : SIZE // 2] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / "rotated.png").write_bytes(encoded(Image.fromarray(marked), "PNG", exif=exif))
    got = reader.read(tmp_path / "rotated.png")
    assert got[: SIZE // 2, SIZE // 2 :].min() == 255 and got[: SIZE // 2, : SIZE // 2].max() == 0


def test_size_policies(tmp_path):
    wide = rgb(4, h=40, w=48)
    path = tmp_path / "wide.png"
    path.write_bytes(encoded(Image.fromarray(wide), "PNG"))
    with pytest.raises(BadImage, match="size 48x40, expected 32x32"):
        ImageReader(SIZE, "keep").read(path)
    np.testing.assert_array_equal(ImageReader(SIZE, "center_crop").read(path), wide[4:36, 8:40])
    resized = ImageReader(SIZE, "resize").read(path)
    assert resized.shape == (SIZE, SIZE, 3)
    expected = np.asarray(Image.fromarray(wide).resize((38, 32), Image.Resampling.BICUBIC))[:, 3:35]
    np.testing.assert_array_equal(resized, expected)
    with pytest.raises(BadImage, match="size"):
        ImageReader(64, "center_crop").read(path)  # smaller than the crop
    with pytest.raises(UserError, match="size_policy=reject") as info:
        ImageReader(SIZE, "reject").read(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    with pytest.raises(UserError, match="dataset.size_policy"):
        ImageReader(SIZE, "stretch")


def bad_dataset(root: Path, outside: Path) -> dict[str, str]:
    """A Kaggle-layout dataset whose train split holds every kind of bad entry; returns id -> expected
    reason fragment. Good images: 8 per class in train, 4 per class in valid and in test."""
    images = root / "real_vs_fake" / "real-vs-fake"
    rows = {"train": [], "valid": [], "test": []}
    n = 0
    for split, per_class in (("train", 8), ("valid", 4), ("test", 4)):
        for label, name in ((1, "real"), (0, "fake")):
            (images / split / name).mkdir(parents=True)
            for _ in range(per_class):
                n += 1
                Image.fromarray(rgb(n)).save(images / split / name / f"{n:04d}.png")
                rows[split].append((f"{n:04d}", label, f"{split}/{name}/{n:04d}.png"))
    jpeg = encoded(Image.fromarray(rgb(99)), "JPEG", quality=90)
    png = bytearray(encoded(Image.fromarray(rgb(98)), "PNG"))
    png[60] ^= 0xFF
    bad_files = {
        "truncated": jpeg[: len(jpeg) // 2],
        "corrupt": bytes(png),
        "empty": b"",
        "text": b"id,label\nthis is not an image\n",
    }
    expected = {
        "truncated": "truncated",
        "corrupt": "corrupt",
        "empty": "empty file",
        "text": "unrecognised format",
        "missing": "missing file",
        "dotdot": "leaves the dataset root",
        "absolute": "leaves the dataset root",
        "symlink": "symlink points outside",
        "wrongsize": "size 40x40",
    }
    for name, data in bad_files.items():
        (images / "train" / "fake" / f"{name}.jpg").write_bytes(data)
        rows["train"].append((name, 0, f"train/fake/{name}.jpg"))
    Image.fromarray(rgb(97, 40, 40)).save(images / "train" / "real" / "wrongsize.png")
    rows["train"].append(("wrongsize", 1, "train/real/wrongsize.png"))
    outside.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb(96)).save(outside / "secret.png")  # a valid image: it must still never be read
    (images / "train" / "real" / "link.png").symlink_to(outside / "secret.png")
    rows["train"] += [
        ("missing", 1, "train/real/nothere.png"),
        ("dotdot", 1, "../../../outside/secret.png"),
        ("absolute", 1, str(outside / "secret.png")),
        ("symlink", 1, "train/real/link.png"),
    ]
    for split, entries in rows.items():
        with (root / f"{split}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "original_path", "label", "label_str", "path"])
            for image_id, label, rel in entries:
                writer.writerow([image_id, "x", label, "real" if label else "fake", rel])
    return expected


def faces_cfg(tmp_path, root, *extra):
    return compose_cfg(
        [
            "dataset=faces140k",
            f"dataset.root={root}",
            f"dataset.image_size={SIZE}",
            f"paths.cache={tmp_path}/cache.zarr",
            f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
            "extract.chunk_size=4",
            "dataset.num_valid=null",
            "n_jobs=1",
            "tuning.n_trials=1",
            "tuning.cv_folds=2",
            "classifier.estimator.n_estimators=20",
            "classifier.search_space.n_estimators.high=60",
            *extra,
        ]
    )


def test_every_bad_kind_is_skipped_with_its_reason_and_never_done(tmp_path):
    expected = bad_dataset(tmp_path / "faces", tmp_path / "outside")
    cfg = faces_cfg(tmp_path, tmp_path / "faces", "dataset.max_bad_fraction=0.5")
    train, test = load_splits(cfg)
    screened = {s.id: s.reason for s in train.skipped}
    assert set(screened) == {"empty", "missing", "dotdot", "absolute", "symlink"}
    assert all(str(tmp_path / "outside") not in str(p) for p in train.paths)
    group, stats = cached_latents(cfg, train, DCTEncoder())
    failed, reasons, done = group.failures()
    ids = group.ids
    unreadable = {str(i): str(r) for i, r, f in zip(ids, reasons, failed) if f}
    assert set(unreadable) == {"truncated", "corrupt", "text", "wrongsize"}
    for image_id, reason in {**screened, **unreadable}.items():
        assert expected[image_id] in reason, (image_id, reason)
    assert not (done & failed).any() and done.sum() == 16 and stats.unreadable == 4 and stats.extracted == 16
    assert group.missing_chunks() == []  # failures are final for this manifest: a rerun does not retry them
    _, again = cached_latents(cfg, train, DCTEncoder())
    assert again.extracted == 0 and again.unreadable == 0
    features = job_features(cfg, group, train=True)
    assert features.n_images == 16 and set(ids[features.rows]) == {f"{i:04d}" for i in range(1, 17)}
    np.testing.assert_array_equal(features.y, group.labels[features.rows])
    flat_all = group.array("y_hat", "model_y")[:][done].reshape(16, -1)
    np.testing.assert_array_equal(features.X[:, : flat_all.shape[1]], flat_all)
    multi = job_features(compose_cfg(["preprocess=multi", "preprocess.num_patches=2"]), group, train=True)
    assert multi.n_images == 16 and multi.X.shape[0] == 32


def test_too_many_bad_images_stop_with_a_clear_error(tmp_path):
    bad_dataset(tmp_path / "faces", tmp_path / "outside")
    cfg = faces_cfg(tmp_path, tmp_path / "faces", "dataset.max_bad_fraction=0.3")
    train, _ = load_splits(cfg)  # 5 of 25 screened out: under 30 %
    with pytest.raises(UserError, match=r"of split 'train' are bad .*dataset.max_bad_fraction=0.3") as info:
        cached_latents(cfg, train, DCTEncoder())  # + 4 unreadable: 9 of 25 > 30 %
    assert "\n" not in str(info.value)
    with pytest.raises(UserError, match="max_bad_fraction=0.1"):
        load_splits(faces_cfg(tmp_path, tmp_path / "faces", "dataset.max_bad_fraction=0.1"))


@pytest.mark.slow
def test_job_finishes_and_logs_the_manifest_with_every_bad_image(tmp_path, mlflow_server, experiment_name):
    expected = bad_dataset(tmp_path / "faces", tmp_path / "outside")
    cfg = faces_cfg(
        tmp_path,
        tmp_path / "faces",
        "dataset.max_bad_fraction=0.5",
        f"tracking.uri={mlflow_server.uri}",
        f"tracking.experiment={experiment_name}",
    )
    metrics = run_job(cfg)
    assert 0 <= metrics["test/accuracy"] <= 1
    client = MlflowClient(mlflow_server.uri)
    run = client.search_runs([client.get_experiment_by_name(experiment_name).experiment_id])[0]
    assert run.info.status == "FINISHED" and run.data.metrics["data/train_samples"] == 16
    local = client.download_artifacts(run.info.run_id, "dataset/train_manifest.csv", str(tmp_path))
    with open(local, newline="") as handle:
        rows = {r["id"]: r for r in csv.DictReader(handle)}
    assert len(rows) == 25
    for image_id, fragment in expected.items():
        assert rows[image_id]["status"] in ("skipped", "unreadable") and fragment in rows[image_id]["reason"], image_id
    assert sum(r["status"] == "done" for r in rows.values()) == 16
    assert all(len(r["hash"]) == 32 for r in rows.values() if r["status"] == "done")
