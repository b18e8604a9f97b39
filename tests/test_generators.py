"""Demo generators: a registry of three fake-image models whose traces differ measurably."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jpegai_fd.datasets import generators
from jpegai_fd.datasets.generators import GENERATORS, get_generator, make_image
from jpegai_fd.encoders.dct import DCTEncoder
from jpegai_fd.errors import UserError

SIZE, PER_SPLIT = 64, 30


def test_registry_has_three_generators_and_refuses_unknown_names():
    assert set(GENERATORS) == {"transposed_conv", "bilinear_noise", "diffusion"}
    assert get_generator("diffusion") is GENERATORS["diffusion"]
    with pytest.raises(
        UserError, match="'dataset.generator'.*allowed values: transposed_conv, bilinear_noise, diffusion"
    ):
        get_generator("stylegan")
    with pytest.raises(UserError, match="'dataset.image_size'"):
        make_image(0, 0, 0, 63, "diffusion")


def test_images_are_deterministic_and_share_content_across_generators():
    a, qa = make_image(0, 1, 5, SIZE, "bilinear_noise")
    b, qb = make_image(0, 1, 5, SIZE, "bilinear_noise")
    assert a.dtype == np.uint8 and a.shape == (SIZE, SIZE, 3) and np.array_equal(a, b) and qa == qb
    fakes = [make_image(0, 1, 5, SIZE, g)[0] for g in GENERATORS]
    assert all(not np.array_equal(fakes[0], f) for f in fakes[1:])
    # Same scene for every generator: they differ in traces, not content (mean colours agree closely).
    means = np.array([f.reshape(-1, 3).mean(axis=0) for f in fakes])
    assert np.ptp(means, axis=0).max() < 6
    # Real images are the demo's camera model, whatever the generator choice.
    assert np.array_equal(make_image(1, 1, 5, SIZE, "diffusion")[0], make_image(1, 1, 5, SIZE, "transposed_conv")[0])
    scene_rng = np.random.default_rng([1, 1, 5])
    content = generators.render_face(generators.draw_scene(scene_rng, SIZE), SIZE)
    camera = np.round(generators.camera_pipeline(content, scene_rng) * 255).astype(np.uint8)
    assert np.array_equal(camera, make_image(1, 1, 5, SIZE, "diffusion")[0])


def pooled_dct_features(images: np.ndarray) -> np.ndarray:
    """Log mean |coefficient| per DCT channel (luma 256 + chroma 128), pooled over block positions."""
    latents = DCTEncoder().transform(images)
    return np.concatenate(
        [np.log(np.abs(latents[c]).mean(axis=(2, 3)) + 1e-4) for c in ("model_y", "model_uv")], axis=1
    )


def test_a_detector_trained_on_one_generator_is_not_perfect_on_another():
    def features(label, generator, start):
        return pooled_dct_features(
            np.stack([make_image(label, 0, start + i, SIZE, generator)[0] for i in range(PER_SPLIT)])
        )

    real_train, real_test = features(1, "diffusion", 0), features(1, "diffusion", PER_SPLIT)
    fake_train = {g: features(0, g, 0) for g in GENERATORS}
    fake_test = {g: features(0, g, PER_SPLIT) for g in GENERATORS}
    y = np.r_[np.ones(PER_SPLIT), np.zeros(PER_SPLIT)]
    accuracy = {}
    for a in GENERATORS:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
        model.fit(np.concatenate([real_train, fake_train[a]]), y)
        for b in GENERATORS:  # held-out real images against held-out fakes of generator b
            accuracy[a, b] = model.score(np.concatenate([real_test, fake_test[b]]), y)
    table = "\n".join(f"{a:>16}: " + " ".join(f"{accuracy[a, b]:.2f}" for b in GENERATORS) for a in GENERATORS)
    assert all(accuracy[g, g] >= 0.9 for g in GENERATORS), table  # each is learnable
    drops = [accuracy[a, a] - accuracy[a, b] for a in GENERATORS for b in GENERATORS if a != b]
    assert sum(d >= 0.15 for d in drops) >= 3, table  # and they do not transfer
