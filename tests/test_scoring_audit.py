"""Shortcut audit on real files written with Pillow: PNG fakes vs JPEG reals are flagged, so are
file size, EXIF and quality shortcuts; a balanced dataset is not; the JPEG quality estimate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from jpegai_fd.errors import UserError
from jpegai_fd.datasets.file_info import inspect_file
from jpegai_fd.scoring.audit import audit_dataset, audit_tags


def _noise(rng, size=32, smooth=False):
    pixels = rng.integers(0, 256, (size, size, 3)).astype(np.uint8)
    if smooth:  # flat colour: compresses to far fewer bytes
        pixels[:] = pixels.mean(axis=(0, 1)).astype(np.uint8)
    return Image.fromarray(pixels)


def _write(folder, rng, n, label, fmt="JPEG", smooth=False, exif=False, quality=None):
    folder.mkdir(parents=True, exist_ok=True)
    items = []
    for k in range(n):
        path = folder / f"{label}_{k}.{'png' if fmt == 'PNG' else 'jpg'}"
        extra = {} if fmt == "PNG" else {"quality": int(quality or rng.integers(75, 96))}
        if exif:
            tags = Image.Exif()
            tags[0x010F] = "CameraMaker"  # Make
            extra["exif"] = tags
        _noise(rng, smooth=smooth).save(path, fmt, **extra)
        items.append((path, label))
    return items


def test_png_fakes_and_jpeg_reals_are_flagged(tmp_path):
    rng = np.random.default_rng(14)
    train = _write(tmp_path / "real", rng, 12, 1) + _write(tmp_path / "fake", rng, 12, 0, fmt="PNG")
    report = audit_dataset({"train": train})
    json.dumps(report)  # JSON-ready for dataset/audit.json
    flags = {f["property"]: f for f in report["flags"]}
    assert flags["format"]["auc"] == 1.0
    assert flags["format"]["exclusive_values"] == {
        "JPEG": {"only": "real", "share_of_class": 1.0},
        "PNG": {"only": "fake", "share_of_class": 1.0},
    }
    assert "jpeg_quality" not in report["splits"]["train"]["separability"]  # not every image is a JPEG
    assert report["splits"]["train"]["per_class"]["fake"]["format"] == {"PNG": 12}
    line = report["warning"]
    assert "\n" not in line and line.startswith("shortcut audit: ") and "format (AUC 1.00 on train, " in line
    assert "PNG only in fake (100% of them)" in line
    assert "format" in audit_tags(report)["audit.shortcut"].split(",")


def test_balanced_dataset_is_not_flagged(tmp_path):
    rng = np.random.default_rng(15)
    splits = {
        split: _write(tmp_path / split / "real", rng, 15, 1) + _write(tmp_path / split / "fake", rng, 15, 0)
        for split in ("train", "test")
    }
    report = audit_dataset(splits)
    assert report["flags"] == [] and report["warning"] is None
    assert audit_tags(report) == {"audit.shortcut": "none"}
    sep = report["splits"]["train"]["separability"]
    assert set(sep) >= {"file_size", "width", "jpeg_quality", "format", "subsampling", "exif"}
    assert all(v["auc"] <= 0.75 for v in sep.values())
    assert report["splits"]["test"]["images"] == {"real": 15, "fake": 15}


@pytest.mark.parametrize(
    "fake_kwargs, real_kwargs, flagged",
    [
        ({"smooth": True}, {}, "file_size"),  # fakes far smaller files, same format
        ({}, {"exif": True}, "exif"),  # only the camera images carry EXIF
        ({"quality": 95}, {"quality": 75}, "jpeg_quality"),  # one encoder setting per class
    ],
)
def test_single_property_shortcuts_are_flagged(tmp_path, fake_kwargs, real_kwargs, flagged):
    rng = np.random.default_rng(16)
    train = _write(tmp_path / "real", rng, 12, 1, **real_kwargs) + _write(tmp_path / "fake", rng, 12, 0, **fake_kwargs)
    report = audit_dataset({"train": train})
    assert flagged in {f["property"] for f in report["flags"]}
    assert "format" not in {f["property"] for f in report["flags"]}
    assert flagged in report["warning"]


@pytest.mark.parametrize("quality", [50, 75, 90, 95])
def test_jpeg_quality_estimate_matches_the_encoder_setting(tmp_path, quality):
    path = tmp_path / "q.jpg"
    _noise(np.random.default_rng(0)).save(path, "JPEG", quality=quality, subsampling="4:4:4")
    info = inspect_file(path)
    assert (info["format"], info["jpeg_quality"], info["quant_standard"], info["subsampling"]) == (
        "JPEG",
        quality,
        True,
        "4:4:4",
    )
    assert (info["width"], info["height"], info["exif"]) == (32, 32, "no")


def test_unreadable_file_is_recorded_not_raised(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    info = inspect_file(bad)
    assert info["format"] == "unreadable" and info["file_size"] == 12
    assert inspect_file(tmp_path / "missing.jpg")["format"] == "unreadable"


def test_bad_label_is_one_clear_error(tmp_path):
    with pytest.raises(UserError, match="'x.jpg' in split 'train' has a label other than 1 \\(real\\) or 0 \\(fake\\)"):
        audit_dataset({"train": [("x.jpg", 2)]})
