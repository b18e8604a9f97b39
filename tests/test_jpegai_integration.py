"""End to end with a real JPEG AI reference-software installation (skipped without one).

Set ``JPEGAI_ROOT`` to the checkout (the folder holding src/ and cfg/, C++ extensions built),
optionally ``JPEGAI_PYTHON`` (its interpreter) and ``JPEGAI_MODELS`` (its weights folder). Without the
weights, ``JPEGAI_ALLOW_MISSING_WEIGHTS=1`` runs the plumbing with random weights. Images are 176 px:
with tools on the software rejects images of 160 px or less (its MS-SSIM needs 4 downsamplings).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr
from jfd_testing import compose_cfg, run_cli, tiny_overrides
from omegaconf import OmegaConf

from jfd_testing import build_encoder
from jpegai_fd.components import build_conditions

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("JPEGAI_ROOT"),
        reason="no JPEG AI reference software: set JPEGAI_ROOT (and optionally JPEGAI_PYTHON, "
        "JPEGAI_MODELS, JPEGAI_ALLOW_MISSING_WEIGHTS=1) to run",
    ),
]
ALLOW = "true" if os.environ.get("JPEGAI_ALLOW_MISSING_WEIGHTS") == "1" else "false"


def test_extract_command_fills_the_cache_with_real_latents(tmp_path):
    args = [
        *tiny_overrides(tmp_path, train=2, test=1, size=176),
        "encoder=jpegai",
        "encoder.rate_mode=table",
        f"encoder.allow_missing_weights={ALLOW}",
        f"encoder.log_dir={tmp_path}/logs",
        "bpp=12",
    ]
    done = run_cli("jpegai_fd.extract", args, cwd=tmp_path, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    root = zarr.open_group(str(tmp_path / "cache.zarr"), mode="r")
    groups = [name for name, _ in root.members(max_depth=None) if name.endswith("/done")]
    assert len(groups) == 3 and all("/jpegai-" in g for g in groups)  # train, valid, test
    for name in groups:
        group = root[name.rsplit("/", 1)[0]]
        assert group["done"][:].all()
        n = group["done"].shape[0]
        assert group["y/model_y"].shape == (n, 160, 11, 11) and group["y_hat/model_uv"].shape == (n, 96, 11, 11)
        y = group["y/model_y"][:]
        assert np.isfinite(y).all() and y.std() > 0
        assert group.attrs["encoder"]["software_version"] == "IS"
    assert list((tmp_path / "logs").glob("*.log"))


def test_search_mode_two_workers_match_one(tmp_path):
    images = np.random.RandomState(0).randint(0, 256, (2, 176, 192, 3)).astype(np.uint8)
    outs = []
    for n in (1, 2):
        cfg = compose_cfg(
            [
                "encoder=jpegai",
                "bpp=6",
                f"encoder.num_workers={n}",
                f"encoder.log_dir={tmp_path}/logs",
                f"encoder.allow_missing_weights={ALLOW}",
                "encoder.keep_extras=true",
            ]
        )
        enc = build_encoder(cfg)
        try:
            outs.append(enc.encode(images, 6))
        finally:
            enc.close()
    assert outs[0]["y"]["model_y"].shape == (2, 160, 11, 12) and outs[0]["y_hat"]["model_uv"].shape == (2, 96, 11, 12)
    assert "failed" not in outs[0] and "failed" not in outs[1]
    for latent in ("y", "y_hat"):
        for c in ("model_y", "model_uv"):
            np.testing.assert_array_equal(outs[0][latent][c], outs[1][latent][c])
    assert outs[0]["extras"]["tool_id"].tolist() == outs[1]["extras"]["tool_id"].tolist()


def smooth_images(n, height, width, seed=0):
    """Integrated noise: photo-like enough that the rate search finds candidates within tolerance."""
    field = np.cumsum(np.cumsum(np.random.RandomState(seed).standard_normal((n, height, width, 3)), 1), 2)
    field = (field - field.mean(axis=(1, 2), keepdims=True)) / field.std(axis=(1, 2), keepdims=True)
    return np.clip(128 + 40 * field, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("mode, bpp", [("search", 12), ("table", 12)])
def test_fast_path_is_bit_identical_to_the_reference_path(tmp_path, mode, bpp):
    images = smooth_images(2, 176, 192)
    outs = {}
    for fast in ("false", "true"):
        cfg = compose_cfg(
            [
                "encoder=jpegai",
                f"bpp={bpp}",
                "encoder.num_workers=1",
                f"encoder.rate_mode={mode}",
                f"encoder.fast_path={fast}",
                f"encoder.log_dir={tmp_path}/logs",
                f"encoder.allow_missing_weights={ALLOW}",
                "encoder.keep_extras=true",
            ]
        )
        enc = build_encoder(cfg)
        try:
            outs[fast] = enc.encode(images, bpp)
        finally:
            enc.close()
    ref, fast = outs["false"], outs["true"]
    assert "failed" not in ref and "failed" not in fast
    for latent in ("y", "y_hat"):
        for c in ("model_y", "model_uv"):
            np.testing.assert_array_equal(ref[latent][c], fast[latent][c])
    assert ref["extras"].keys() == fast["extras"].keys()
    for name in ref["extras"]:
        np.testing.assert_array_equal(ref["extras"][name], fast["extras"][name])


def test_double_compression_decodes_at_the_first_rate_and_extracts_at_the_job_rate(tmp_path):
    entry = (
        "+robustness.conditions.codec_bpp25={_target_:jpegai_fd.perturb.CodecRecompress,bpp:25,encoder:'${encoder}'}"
    )
    cfg = compose_cfg(
        [
            "encoder=jpegai",
            "bpp=12",
            "encoder.rate_mode=table",
            "encoder.num_workers=1",
            f"encoder.log_dir={tmp_path}/logs",
            f"encoder.allow_missing_weights={ALLOW}",
            entry,
        ]
    )
    condition = build_conditions(OmegaConf.to_container(cfg.robustness.conditions, resolve=True))["codec_bpp25"]
    images = smooth_images(2, 176, 192)
    decoded = condition.apply_batch(images, ["a", "b"])  # the software's reconstruction (CodingEngine.compress)
    assert decoded.shape == images.shape and decoded.dtype == np.uint8 and not np.array_equal(decoded, images)
    if ALLOW == "false":  # trained weights: the input, degraded by coding at 0.25 bpp (random ones decode noise)
        assert np.abs(decoded.astype(int) - images).mean() < 20
    assert condition.describe()["codec"]["software_version"] == "IS"
    enc = build_encoder(cfg)
    try:
        out = enc.encode(decoded, 12)
    finally:
        enc.close()
    assert "failed" not in out and out["y"]["model_y"].shape == (2, 160, 11, 12)
    assert np.isfinite(out["y"]["model_y"]).all()
