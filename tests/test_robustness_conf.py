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


def test_standard_list_with_jpegai_builds_double_compression_without_reading_the_installation():
    # encoder.root names nothing: the conditions build before any work, the software is read only when extracting.
    conds = standard(["encoder=jpegai", "encoder.root=/nowhere/jpeg-ai"])
    codec = {name: c for name, c in conds.items() if c.name == "codec"}
    assert sorted(codec) == ["codec_bpp12", "codec_bpp25", "codec_bpp50"]
    assert all(c.encoder == "jpegai" and c.key() == name for name, c in codec.items())
    other = standard(["encoder=jpegai", "encoder.root=/nowhere/jpeg-ai", "encoder.profile=base"])["codec_bpp50"]
    assert other.digest() != codec["codec_bpp50"].digest()  # another JPEG AI setup is another condition


def test_a_first_rate_the_jpegai_table_cannot_code_is_one_line_naming_the_condition():
    entry = (
        "+robustness.conditions.codec_bpp30={_target_:jpegai_fd.perturb.CodecRecompress,bpp:30,encoder:'${encoder}'}"
    )
    with pytest.raises(
        UserError, match=r"^'robustness.conditions.codec_bpp30': bpp=30 is not available with encoder.rate_mode=table"
    ) as err:
        standard(["encoder=jpegai", "encoder.rate_mode=table", entry])
    assert "\n" not in str(err.value)
