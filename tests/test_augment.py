"""Training-time augmentation (`augment=standard`): perturbed copies of a seeded share of the training images,
cached per condition, grouped with their originals; valid and test never augmented."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from jfd_testing import compose_cfg, job_inputs, preflight, run_cli, tiny_overrides

from jpegai_fd.cache.inventory import list_groups
from jpegai_fd.datasets import DatasetSplit
from jpegai_fd.errors import UserError
from jpegai_fd.extract import extract_latents
from jpegai_fd.features.augment import Augment, with_copies
from jpegai_fd.features.matrix import FeatureSet
from jpegai_fd.job import run_job
from jpegai_fd.perturb import GaussianBlur, JPEGRecompress
from jpegai_fd.tracking.settings import JobPlace
from jpegai_fd.tuning.study import grouped_folds


def job(tmp_path: Path, run: str, overrides: list[str]) -> dict:
    """The results.json of an in-process job of the tiny demo."""
    settings, parts = job_inputs(compose_cfg([*tiny_overrides(tmp_path), *overrides]))
    (tmp_path / run).mkdir()
    run_job(settings, parts, JobPlace(output_dir=tmp_path / run))
    return json.loads((tmp_path / run / "results.json").read_text())


def test_an_augmented_job_trains_on_more_samples_and_its_rerun_extracts_nothing_and_scores_the_same(tmp_path):
    plain = job(tmp_path, "plain", [])
    first = job(tmp_path, "first", ["augment=standard", "augment.fraction=0.5"])
    assert first["data/train_augmented"] == 12 and plain["data/train_augmented"] == 0  # half of 24 training images
    assert first["data/train_samples"] == plain["data/train_samples"] + 12
    for key in ("data/train_images", "data/valid_images", "data/test_images"):
        assert first[key] == plain[key], key
    assert first["extract/images_extracted"] == 12  # the clean splits were cached by the plain job
    splits = [g.split for g in list_groups(tmp_path / "cache.zarr")]
    assert sorted(s for s in splits if "_aug_" not in s) == ["test", "train", "valid"]  # one clean group each
    assert all(s.startswith("train_aug_") for s in splits if "_aug_" in s) and len(splits) > 3
    second = job(tmp_path, "second", ["augment=standard", "augment.fraction=0.5"])
    assert second["extract/images_extracted"] == 0 and second["extract/images_cached"] == 24 + 12 + 12 + 12
    assert second["metrics"] == first["metrics"]


def test_each_training_source_gets_its_own_augmented_copies_and_valid_stays_clean(tmp_path):
    extra = ["+dataset@train_extra.diff=synthetic", "train_extra.diff.generator=diffusion"]
    extra += ["train_extra.diff.image_size=64", "train_extra.diff.num_per_class={train:6,valid:3,test:3}"]
    done = job(tmp_path, "two", ["augment=standard", "augment.fraction=0.5", *extra])
    assert done["data/train_augmented"] == 12 + 6  # half of each source's training images (24 and 12)
    assert done["data/valid_images"] == 12 + 6  # both sources' valid images, none augmented
    splits = {(g.dataset, g.split) for g in list_groups(tmp_path / "cache.zarr")}
    assert {d for d, s in splits if s.startswith("train_aug_")} == {"synthetic", "diff"}
    assert not any(s.startswith(("valid_aug", "test_aug")) for _, s in splits)


@pytest.mark.slow
def test_the_extract_command_fills_the_augmented_groups_so_a_job_extracts_nothing(tmp_path):
    args = [*tiny_overrides(tmp_path), "augment=standard", "augment.fraction=0.25"]
    extract_latents(*job_inputs(compose_cfg(args)))  # the extract command's work, in-process
    assert job(tmp_path, "run", args[len(tiny_overrides(tmp_path)) :])["extract/images_extracted"] == 0


def split(n: int) -> DatasetSplit:
    ids = np.array([f"{i:04d}" for i in range(n)])
    return DatasetSplit("demo", "train", ids, tuple(Path(f"/x/{i}.png") for i in ids), np.arange(n) % 2)


def test_the_choice_of_images_follows_the_seed_and_shares_the_fraction_between_conditions():
    conditions = {"jpeg_q75": JPEGRecompress(75), "blur_s1": GaussianBlur(1.0)}
    plan = Augment(conditions, 0.5, 3).plan(split(40))
    assert [name for name, _, _ in plan] == ["jpeg_q75", "blur_s1"]
    assert [len(index) for _, _, index in plan] == [10, 10]
    chosen = np.concatenate([index for _, _, index in plan])
    assert len(np.unique(chosen)) == 20  # each image gets one condition at most
    again = Augment(conditions, 0.5, 3).plan(split(40))
    assert all(np.array_equal(a[2], b[2]) for a, b in zip(plan, again))
    other = Augment(conditions, 0.5, 4).plan(split(40))
    assert not np.array_equal(np.sort(chosen), np.sort(np.concatenate([i for _, _, i in other])))


@pytest.mark.parametrize("k", [1, 3])  # one sample per image (flatten), k patches per image (multi)
def test_grouped_folds_keep_an_image_and_its_copy_in_one_fold(k):
    rows = np.array([0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11])  # image 3 has no latents: its copy has no group to join
    n = len(rows)
    base = FeatureSet(
        np.repeat(rows, k)[:, None].astype(np.float32), np.repeat(rows % 2, k), np.repeat(np.arange(n), k), n, rows
    )
    index = np.array([1, 3, 6, 11])  # the copied images' rows in the split (= their original cache rows)
    done = np.array([0, 1, 2, 3])
    copy = FeatureSet(
        np.repeat(index, k)[:, None].astype(np.float32) + 0.5, np.repeat(index % 2, k), np.repeat(done, k), 4, done
    )
    out = with_copies(base, [(index, None, copy, None)], lambda group: group)
    assert len(out.y) == (n + 3) * k and out.n_images == n
    image_of = rows[out.groups]  # each sample's original image
    assert np.array_equal(image_of, np.floor(out.X[:, 0]).astype(int))  # a copy joins its own original's group
    assert np.array_equal(out.y, image_of % 2)
    for fit, score in grouped_folds(out.y, out.groups, 2, seed=0):
        assert not set(out.groups[fit]) & set(out.groups[score])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["augment.fraction=0"], r"'augment.fraction': 0; it must be a number in \(0, 1\]"),
        (["augment.fraction=1.5"], r"'augment.fraction': 1.5"),
        (["augment.seed=-1"], r"'augment.seed': -1"),
        (["+augment.fractoin=0.3"], r"unknown key 'augment.fractoin'"),
        (["augment.conditions.jpeg_q75.quality=500"], r"'augment.conditions.jpeg_q75'"),
        (
            ["+augment.conditions.x={_target_:jpegai_fd.perturb.GaussianBlur,sigma:1.0}"],
            r"'augment.conditions.x' is the same",
        ),
        (
            ["classifier=cnn"],
            r"augment cannot train classifier=cnn.*classifier.stream_from_cache=false or remove augment",
        ),
        (["classifier=metadata"], r"augment cannot train classifier=metadata.*; remove augment"),
    ],
)
def test_a_bad_augment_setting_is_one_line_before_any_work(tmp_path, overrides, message):
    with pytest.raises(UserError, match=message) as info:
        preflight([*tiny_overrides(tmp_path), "augment=standard", *overrides])
    assert "\n" not in str(info.value)


def test_a_bad_augment_fraction_stops_the_command_line_with_one_line(tmp_path):
    done = run_cli("jpegai_fd", [*tiny_overrides(tmp_path), "augment=standard", "augment.fraction=2"], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "jpegai_fd: error: invalid value for 'augment.fraction': 2; it must be a number in (0, 1]"
    ]


def test_empty_conditions_are_refused_naming_the_key():
    with pytest.raises(UserError, match=r"'augment.conditions' is empty"):
        Augment({}, 0.5, 0)
