"""The ready list `+robustness=standard`: composes with Hydra and every entry builds a condition."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from jfd_testing import compose_cfg
from omegaconf import OmegaConf

from jpegai_fd.datasets.generators import make_image
from jpegai_fd.errors import UserError
from jpegai_fd.components import build_conditions
from jpegai_fd.perturb import GaussianNoise


def standard(overrides=()):
    cfg = compose_cfg(["+robustness=standard", *overrides])
    return build_conditions(OmegaConf.to_container(cfg.robustness.conditions, resolve=True))


def test_standard_list_builds_several_strengths_of_every_perturbation():
    conds = standard()
    assert all(name == c.key() for name, c in conds.items())  # metric names are the conditions' own keys
    kinds = Counter(c.name for c in conds.values())
    assert set(kinds) == {"jpeg", "scale", "blur", "noise", "crop", "codec"}
    assert min(kinds.values()) >= 2
    assert len({c.digest() for c in conds.values()}) == len(conds)
    image = make_image(1, 0, 0, 64)[0]
    for name, condition in conds.items():
        out = condition(image, "000001")
        assert out.shape == image.shape and not np.array_equal(out, image), name


def test_standard_noise_follows_the_job_seed_and_conditions_can_be_dropped_or_added():
    assert standard(["seed=7"])["noise_s5"] == GaussianNoise(5.0, seed=7)
    conds = standard(
        [
            "~robustness.conditions.blur_s2",
            "+robustness.conditions.noise_s20={_target_:jpegai_fd.perturb.GaussianNoise,sigma:20,seed:1}",
        ]
    )
    assert "blur_s2" not in conds and conds["noise_s20"] == GaussianNoise(20.0, seed=1)


def test_standard_list_with_jpegai_names_the_codec_entry_and_the_fix():
    with pytest.raises(UserError, match=r"'robustness.conditions.codec_bpp50'.*encoder=jpegai.*~robustness.conditions"):
        standard(["encoder=jpegai"])
    drop = [f"~robustness.conditions.codec_bpp{b}" for b in (50, 25, 12)]
    assert not any(c.name == "codec" for c in standard(["encoder=jpegai", *drop]).values())
