"""Every option of every group composes and is built from its ``_target_`` alone (nothing read or started)."""

from __future__ import annotations

import pytest
from hydra.core.global_hydra import GlobalHydra
from jfd_testing import CONF_DIR, compose_cfg

from jpegai_fd.classifiers import Classifier
from jpegai_fd.components import GROUPS, build, check_compatible
from jpegai_fd.datasets import ImageDataset
from jpegai_fd.errors import UserError
from jpegai_fd.features import Flatten, Patches

KINDS = {"dataset": ImageDataset, "preprocess": (Flatten, Patches), "classifier": Classifier}


@pytest.fixture(autouse=True)
def _clear_hydra():
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in options(g)])
@pytest.mark.parametrize("debug", [[], ["debug=tiny"]])
def test_every_option_is_instantiated_from_its_target(group, option, debug):
    overrides = [f"{group}={option}", *debug]
    if group == "classifier" and option == "cnn":
        overrides.append("preprocess=flatten")
    cfg = compose_cfg(overrides)
    assert "_target_" in cfg[group]
    parts = build(cfg)
    built = getattr(parts, group)
    assert built.name == option
    if group in KINDS:
        assert isinstance(built, KINDS[group])
    else:  # encoders: the LatentEncoder protocol
        assert callable(built.encode) and callable(built.latent_shapes)
    check_compatible(parts, cfg.bpp)


def test_classifier_options_make_fresh_estimators_with_trial_parameters():
    for option in options("classifier"):
        clf = build(compose_cfg([f"classifier={option}"])).classifier
        first, second = clf.make(), clf.make()
        assert first is not second and type(first) is clf.estimator_class
        name = next(iter(clf.search_space))
        spec = clf.search_space[name]
        value = spec["choices"][0] if spec["type"] == "categorical" else spec["low"]
        assert clf.make({name: value}).get_params()[name] == value


def test_debug_tiny_is_the_toy_size_of_every_option():
    full, tiny = compose_cfg([]), compose_cfg(["debug=tiny"])
    assert (tiny.dataset.image_size, tiny.tuning.n_trials, tiny.n_jobs) == (64, 2, 1)
    assert tiny.classifier.estimator.n_estimators < full.classifier.estimator.n_estimators
    assert compose_cfg(["debug=tiny", "classifier=hgb"]).classifier.estimator.max_iter == 20
    assert dict(tiny.dataset.num_per_class) == {"train": 12, "valid": 6, "test": 6}
    folder = compose_cfg(["debug=tiny", "dataset=folder"])  # datasets without toy counts get the image size only
    assert folder.dataset.image_size == 64 and "num_per_class" not in folder.dataset


def test_a_rule_a_component_declares_is_checked():
    with pytest.raises(UserError, match="classifier=cnn .*preprocess=flatten.*got preprocess=multi"):
        check_compatible(build(compose_cfg(["classifier=cnn", "preprocess=multi"])), bpp=12)
