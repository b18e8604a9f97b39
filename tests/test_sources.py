"""Several training sources (``train_extra``), class balance and leave-one-source-out (``holdout``).

The command line runs the leave_one_out experiment (then its report, in-process); a two-source job (twice),
the holdout and the one-line errors are checked in-process."""

from __future__ import annotations


import numpy as np
import pytest
import zarr
from mlflow.tracking import MlflowClient
from PIL import Image

from jfd_testing import compose_cfg, job_inputs, run_cli, tiny_overrides, train, train_in
from jpegai_fd.datasets.generators import make_image
from jpegai_fd.errors import UserError
from jpegai_fd.features.matrix import FeatureSet
from jpegai_fd.features.pool import pool_features
from jpegai_fd.report.__main__ import main as report_main


def diffusion_source(name: str = "diff") -> list[str]:
    """The demo made by the diffusion generator as a training source of the tiny job's size."""
    return [
        f"+dataset@train_extra.{name}=synthetic",
        f"train_extra.{name}.generator=diffusion",
        f"train_extra.{name}.image_size=64",
        f"train_extra.{name}.num_per_class={{train:12,valid:6,test:6}}",
    ]


def fakes_only(folder, n: int = 10) -> list[str]:
    """A one-class source: ``n`` fakes of another generator under folder/fake/, split 70/10/20 by the layout."""
    (folder / "fake").mkdir(parents=True)
    for i in range(n):
        Image.fromarray(make_image(0, 5, 2000 + i, 64, "bilinear_noise")[0]).save(folder / "fake" / f"{i:02d}.png")
    return [
        "+dataset@train_extra.gan=folder",
        f"train_extra.gan.root={folder}",
        "train_extra.gan.classes.real=null",
    ] + ["train_extra.gan.image_size=64"]


def last_run(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    exp = client.get_experiment_by_name("jpegai_fd")
    return client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])[0]


@pytest.mark.slow
def test_a_two_source_job_trains_on_both_caches_a_group_per_source_and_scores_the_extra_test_split(tmp_path):
    args = [*tiny_overrides(tmp_path), *diffusion_source()]
    result = train_in(compose_cfg(args), tmp_path / "run1")
    assert result["data/train_images"] == 2 * 24 and result["data/valid_images"] == 2 * 12  # both sources
    assert result["data/test_images"] == 12  # the job's dataset's only
    assert result["factors"]["train_sources"] == "synthetic,diff"
    assert {"eval/diff/roc_auc", "eval/diff/roc_auc_ci_low"} <= set(result["extra_metrics"])
    # The pooled valid images keep their source: each training source's rates beside the pooled ones.
    assert {f"valid/source/{s}/{m}" for s in ("synthetic", "diff") for m in ("fake_recall", "false_alarm_rate")} <= set(
        result["metrics"]
    )
    # One cache group per source and split: the source's name leads its groups' keys.
    groups = sorted(k.split("-")[0] for k in zarr.open_group(str(tmp_path / "cache.zarr"), mode="r").group_keys())
    assert groups == ["diff"] * 3 + ["synthetic"] * 3

    again = train_in(compose_cfg(args), tmp_path / "run2")
    assert again["extract/images_extracted"] == 0 and again["extra_metrics"]["extract/extra_images_extracted"] == 0
    assert again["metrics"] == result["metrics"]


def test_holding_out_the_main_dataset_trains_on_the_sources_and_scores_its_test_split(tmp_path):
    """A fakes-only source joins a two-class one; the job's dataset is only scored."""
    metrics = train(
        compose_cfg(
            [*tiny_overrides(tmp_path), *diffusion_source(), *fakes_only(tmp_path / "gan"), "holdout=synthetic"]
        )
    )
    run = last_run(tmp_path)
    assert run.data.tags["holdout"] == "synthetic" and run.data.tags["train_sources"] == "diff,gan"
    m = run.data.metrics
    assert m["data/train_images"] == 24 + 7 and m["data/test_images"] == 12  # diff's and gan's 70 %
    assert m["data/train_samples"] == 2 * 12  # train_balance=class: 12 real, so 12 of the 19 fakes
    assert "test/roc_auc" in metrics and "eval/diff/roc_auc" in m and m["eval/gan/n_fake"] == 2  # gan's 20 %


def test_holding_out_a_source_trains_without_it_and_scores_its_test_split(tmp_path):
    train(compose_cfg([*tiny_overrides(tmp_path), *diffusion_source(), "holdout=diff", "train_balance=none"]))
    m = last_run(tmp_path).data.metrics
    assert m["data/train_images"] == 24 and m["data/valid_images"] == 12  # the job's dataset only
    assert m["eval/diff/n_real"] == 6 and m["eval/diff/n_fake"] == 6 and "eval/diff/roc_auc" in m


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["+train_extra.x.root=/nowhere"],
            "'train_extra.x' is not a dataset; compose one with '+dataset@train_extra.x=",
        ),
        (["+dataset@train_extra.x=synthetic"], "invalid value for 'train_extra.x.image_size': 256"),
        (["+dataset@train_extra.x=folder", "train_extra.x.image_size=64"], "'train_extra.x.root'"),
        (["+dataset@train_extra.synthetic=synthetic"], "'train_extra.synthetic' has the name of the job's dataset"),
        ([*diffusion_source(), "train_extra.diff.num_train=1"], "invalid value for 'train_extra.diff.num_train'"),
        (["holdout=nope"], "invalid value for 'holdout': 'nope'; allowed values: synthetic"),
        (["holdout=synthetic"], "holdout=synthetic leaves nothing to train on"),
        (["train_balance=maybe"], "invalid value for 'train_balance': 'maybe'; allowed values: class, none"),
    ],
)
def test_bad_training_sources_give_one_line_errors_naming_the_key(tmp_path, overrides, message):
    with pytest.raises(UserError) as caught:
        job_inputs(compose_cfg([*tiny_overrides(tmp_path), *overrides]))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_pooling_shares_the_cv_group_of_identical_images_and_balances_the_classes():
    def two(labels):
        return [FeatureSet(np.arange(4.0)[:, None], np.array(y), np.arange(4), 4) for y in (labels[:4], labels[4:])]

    labels = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    keys = np.array(["r1", "r2", "f1", "f2", "r1", "r2", "f3", "f4"])  # the same reals in both sources
    pooled, kept = pool_features(two(labels), labels, keys)
    assert pooled.n_images == 6 and pooled.groups[0] == pooled.groups[4] and len(kept) == 8
    labels = np.array([1, 1, 0, 0, 0, 0, 0, 0])  # a fakes-only second source
    balanced, kept = pool_features(two(labels), labels, balance=True, seed=1)
    assert np.bincount(balanced.y).tolist() == [2, 2] and kept[:2].tolist() == [0, 1] and balanced.n_images == 4


@pytest.mark.slow
def test_the_leave_one_out_experiment_on_the_tiny_demo_gives_the_report_its_matrix(tmp_path, capsys):
    files = [f"paths.data_dir={tmp_path}/data", f"paths.cache={tmp_path}/cache.zarr"]
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    args = ["-m", "experiment=leave_one_out", "debug=tiny", *files, f"tracking.uri={uri}"]
    done = run_cli("jpegai_fd", [*args, f"hydra.sweep.dir={tmp_path}/sweep"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert report_main(["--tracking-uri", uri, "--experiment", "leave_one_out", "--out", str(tmp_path / "r")]) == 0
    text = (tmp_path / "r" / "leave_one_out.md").read_text()
    assert text in capsys.readouterr().out
    sources = ["legacy", "transposed_conv", "bilinear_noise", "diffusion"]
    assert f"| held out | {' | '.join(sources)} |" in text
    rows = [line for line in text.splitlines() if line.startswith(tuple(f"| {s} |" for s in sources))]
    assert len(rows) == 4 and all(line.count("[") == 4 and line.count("**") == 2 for line in rows)
    assert "Mean AUC on unseen sources:" in text and "(4 cells)" in text
