"""Perturbations: deterministic bytes, the expected direction of change, stable keys, clear errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from jfd_testing import REPO
from scipy import ndimage

from jpegai_fd.datasets.generators import make_image
from jpegai_fd.errors import UserError
from jpegai_fd.components import build_conditions
from jpegai_fd.perturb import (
    CenterCrop,
    CodecRecompress,
    GaussianBlur,
    GaussianNoise,
    JPEGRecompress,
    Rescale,
    jpeg_bytes,
)
from jpegai_fd.perturb.pixels import resize


@pytest.fixture(scope="module")
def images():
    return np.stack([make_image(label, 5, i, 64)[0] for i, label in enumerate((0, 1, 0, 1))])


def high_freq_energy(image: np.ndarray) -> float:
    """Mean squared spatial Laplacian of each channel: the energy of the finest detail."""
    x = image.astype(np.float64)
    return float(np.mean([ndimage.laplace(x[..., c], mode="mirror") ** 2 for c in range(3)]))


def mean_abs_change(a, b) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


ALL = [
    JPEGRecompress(75),
    Rescale(0.5),
    GaussianBlur(1.0),
    GaussianNoise(5.0, seed=1),
    CenterCrop(0.75),
    CodecRecompress(25),
]


@pytest.mark.parametrize("perturbation", ALL, ids=lambda p: p.key())
def test_every_perturbation_keeps_shape_and_dtype_changes_pixels_and_is_deterministic(images, perturbation):
    out = perturbation(images[0], "img0")
    assert out.shape == images[0].shape and out.dtype == np.uint8
    assert mean_abs_change(out, images[0]) > 0.3
    assert np.array_equal(perturbation(images[0], "img0"), out)
    batch = perturbation.apply_batch(images, ["a", "b", "c", "d"])  # batching never changes an image
    assert np.array_equal(batch[2], perturbation(images[2], "c"))
    assert not np.shares_memory(out, images[0])


def test_perturbations_refuse_other_dtypes(images):
    with pytest.raises(ValueError, match="uint8 RGB"):
        GaussianBlur(1.0)(images[0].astype(np.float32), "x")


def test_jpeg_lower_quality_is_smaller_and_further_from_the_original(images):
    sizes = {q: len(jpeg_bytes(images[1], q)) for q in (50, 75, 90)}
    assert sizes[50] < sizes[75] < sizes[90]
    errors = {q: mean_abs_change(JPEGRecompress(q)(images[1]), images[1]) for q in (50, 75, 90)}
    assert errors[50] > errors[75] > errors[90] > 0


def test_blur_lowers_high_frequency_energy_more_with_larger_sigma(images):
    energy = [high_freq_energy(images[0])] + [high_freq_energy(GaussianBlur(s)(images[0])) for s in (0.5, 1.0, 2.0)]
    assert energy[0] > energy[1] > energy[2] > energy[3]
    assert energy[3] < 0.1 * energy[0]


def test_downscaling_keeps_the_shape_and_loses_detail(images):
    base = high_freq_energy(images[0])
    e75, e50 = (high_freq_energy(Rescale(f)(images[0])) for f in (0.75, 0.5))
    assert e50 < e75 < base
    up = Rescale(1.5)(images[0])  # up then back down: nearly lossless, but not the same bytes
    assert up.shape == images[0].shape
    assert 0 < mean_abs_change(up, images[0]) < mean_abs_change(Rescale(0.5)(images[0]), images[0])


def test_noise_is_seeded_by_seed_and_image_id(images):
    p = GaussianNoise(5.0, seed=3)
    a = p(images[1], "000017")
    assert np.array_equal(a, GaussianNoise(5.0, seed=3)(images[1], "000017"))
    assert not np.array_equal(a, p(images[1], "000018"))  # another image id: other noise
    assert not np.array_equal(a, GaussianNoise(5.0, seed=4)(images[1], "000017"))
    flat = np.full((64, 64, 3), 128, np.uint8)  # no clipping: the noise itself
    residual = p(flat, "x").astype(np.float64) - 128
    assert abs(residual.std() - 5.0) < 0.3 and abs(residual.mean()) < 0.2


def test_noise_bytes_are_the_same_in_a_fresh_interpreter(images):
    # A rerun is another process (other PYTHONHASHSEED, other import order): the bytes must not move.
    code = (
        "import sys, numpy as np; from jpegai_fd.perturb import GaussianNoise; "
        "img = np.frombuffer(sys.stdin.buffer.read(), np.uint8).reshape(64, 64, 3); "
        "sys.stdout.buffer.write(GaussianNoise(10.0, seed=9)(img, 'id-7').tobytes())"
    )
    env = {"PYTHONPATH": str(REPO), "PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], input=images[3].tobytes(), capture_output=True, env=env, check=True
    )
    assert done.stdout == GaussianNoise(10.0, seed=9)(images[3], "id-7").tobytes()


def test_centre_crop_takes_the_centre_and_resizes_back_or_keeps(images):
    kept = CenterCrop(0.75, resize_back=False)
    assert kept.output_shape(64, 64) == (48, 48) and kept.key() == "crop_f0.75_keep"
    assert np.array_equal(kept(images[0]), images[0][8:56, 8:56])
    back = CenterCrop(0.75)(images[0])
    assert back.shape == (64, 64, 3) and np.array_equal(back, resize(images[0][8:56, 8:56], 64, 64, "bicubic"))


def test_codec_recompression_degrades_with_lower_rate(images):
    e50, e12 = (mean_abs_change(CodecRecompress(b)(images[1]), images[1]) for b in (50, 12))
    assert e12 > e50 > 0


def test_keys_and_descriptions_are_stable_and_canonical():
    assert [p.key() for p in ALL] == ["jpeg_q75", "scale_f0.5", "blur_s1", "noise_s5", "crop_f0.75", "codec_bpp25"]
    assert GaussianNoise(5, seed=1).digest() == GaussianNoise(5.0, seed=1).digest()  # 5 and 5.0: one cache key
    assert GaussianNoise(5.0, seed=1).digest() != GaussianNoise(5.0, seed=2).digest()  # the seed keys the cache
    assert GaussianBlur(1.0).describe() == {"perturbation": "blur", "sigma": 1.0, "perturb_version": 1}
    assert "libjpeg" in JPEGRecompress(75).describe()
    assert CodecRecompress(25).describe()["codec"]["encoder"] == "dct"


@pytest.mark.parametrize(
    "make, key",
    [
        (lambda: JPEGRecompress(0), "jpeg.quality"),
        (lambda: JPEGRecompress(75.5), "jpeg.quality"),
        (lambda: Rescale(0), "scale.factor"),
        (lambda: Rescale(0.5, method="cubic"), "scale.method"),
        (lambda: GaussianBlur(-1), "blur.sigma"),
        (lambda: GaussianNoise(5, seed=-1), "noise.seed"),
        (lambda: CenterCrop(1.5), "crop.fraction"),
        (lambda: CodecRecompress(0), "codec.bpp"),
        (lambda: CodecRecompress(25, encoder="png"), "codec.encoder"),
    ],
)
def test_bad_parameters_are_one_clear_line(make, key):
    with pytest.raises(UserError, match=rf"'{key}'") as err:
        make()
    assert "\n" not in str(err.value)


class NoDecoder:
    """A latent encoder of a user's own (docs/how-to/extending.md) with no way back to pixels."""

    name = "mine"


@pytest.mark.parametrize("encoder, shown", [(NoDecoder(), "'mine'"), ("jpegai", "'jpegai'")])
def test_a_codec_without_a_decode_path_is_one_line_naming_the_fix(encoder, shown):
    # A bare name cannot reach the JPEG AI software: the condition takes the job's encoder itself.
    with pytest.raises(
        UserError, match=rf"'codec.encoder': {shown} has no decode path; .*encoder: \$\{{encoder\}}"
    ) as err:
        CodecRecompress(25, encoder=encoder)
    assert "\n" not in str(err.value)


def test_build_conditions_instantiates_targets_and_names_bad_entries():
    conds = build_conditions(
        {
            "a": {"_target_": "jpegai_fd.perturb.GaussianBlur", "sigma": 2.0},
            "b": {"_target_": "jpegai_fd.perturb.JPEGRecompress", "quality": 50},
        }
    )
    assert list(conds) == ["a", "b"] and conds["a"] == GaussianBlur(2.0)
    blur = "jpegai_fd.perturb.GaussianBlur"
    cases = [
        ({"x": {"sigma": 1.0}}, "'robustness.conditions.x' needs a _target_"),
        ({"x": {"_target_": "collections.OrderedDict"}}, "is not a perturbation"),
        ({"x": {"_target_": blur, "sigma": 0}}, "'robustness.conditions.x': invalid value for 'blur.sigma'"),
        (
            {"x": {"_target_": blur, "sigma": 1}, "y": {"_target_": blur, "sigma": 1.0}},
            "'robustness.conditions.y' is the same condition as",
        ),
    ]
    for specs, message in cases:
        with pytest.raises(UserError, match=message):
            build_conditions(specs)
