"""Extra test sets, perturbation conditions and other rates, scored by the job's model.

One real job (in-process as the command line runs it, real Zarr cache, real MLflow server) checks every metric,
artifact and the rerun; the fast tests below check the pieces the job builds on (config composition, one-class
folder sets, the plan's one-line errors, the demo's generator choice, the table)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from jfd_testing import compose_cfg, tiny_overrides, train_in
from jpegai_fd.datasets import FolderDataset, SyntheticFaces
from jpegai_fd.datasets.generators import make_image
from jpegai_fd.errors import UserError
from jpegai_fd.components import build_extras
from jpegai_fd.extra_eval import load_test_split
from jpegai_fd.extra_eval.report import entry_rows, table_markdown
from jpegai_fd.extra_eval.run import Entry

TWO_CLASS = ("accuracy_at_valid", "balanced_accuracy_at_valid", "roc_auc", "average_precision", "accuracy")
ONE_CLASS = ("accuracy_fake_at_valid", "accuracy_at_valid", "n_fake")
CONDITIONS = [
    "+robustness.conditions.blur_s1={_target_:jpegai_fd.perturb.GaussianBlur,sigma:1.0}",
    "+robustness.conditions.noise_s5={_target_:jpegai_fd.perturb.GaussianNoise,sigma:5,seed:3}",
]


def new_fakes(folder, n: int = 6, generator: str = "bilinear_noise", size: int = 64) -> None:
    """A one-class set: ``n`` fakes of a generator the job never trained on, under folder/fake/."""
    (folder / "fake").mkdir(parents=True)
    for i in range(n):
        Image.fromarray(make_image(0, 9, 1000 + i, size, generator)[0]).save(folder / "fake" / f"{i:02d}.png")


def extra_sets(tmp_path) -> list[str]:
    return [
        # the demo made by another generator (its own folder: relative interpolations in synthetic.yaml)
        "+dataset@eval.diffusion=synthetic",
        "eval.diffusion.generator=diffusion",
        "eval.diffusion.image_size=64",
        "eval.diffusion.num_per_class.train=1",
        "eval.diffusion.num_per_class.valid=1",
        "eval.diffusion.num_per_class.test=6",
        # only fakes, every image a test image
        "+dataset@eval.newfakes=folder",
        f"eval.newfakes.root={tmp_path}/newfakes",
        "eval.newfakes.classes.real=null",
        "eval.newfakes.image_size=64",  # split_fractions left as the layout's: an extra set is scored whole
    ]


@pytest.mark.slow
def test_job_scores_extra_sets_conditions_and_rates_and_a_rerun_extracts_nothing(
    tmp_path, mlflow_server, experiment_name, caplog
):
    new_fakes(tmp_path / "newfakes")
    args = [
        *tiny_overrides(tmp_path),
        f"tracking.uri={mlflow_server.uri}",
        f"tracking.experiment={experiment_name}",
        "dataset.generator=transposed_conv",
        *extra_sets(tmp_path),
        *CONDITIONS,
        "eval_bpp=[6,25]",
    ]
    summary = train_in(compose_cfg(args), tmp_path / "run1")
    client = MlflowClient(mlflow_server.uri)
    exp = client.get_experiment_by_name(experiment_name)
    (run,) = client.search_runs([exp.experiment_id])
    m = run.data.metrics
    for prefix in ("eval/diffusion", "robust/blur_s1", "robust/noise_s5", "rate/6", "rate/25"):
        for name in TWO_CLASS:
            assert f"{prefix}/{name}" in m, f"{prefix}/{name}"
        assert m[f"{prefix}/n_real"] == 6 and m[f"{prefix}/n_fake"] == 6
        assert 0 <= m[f"{prefix}/roc_auc_ci_low"] <= m[f"{prefix}/roc_auc"] <= m[f"{prefix}/roc_auc_ci_high"] <= 1
    for name in ONE_CLASS:  # the one-class set: what exists, nothing that needs both classes
        assert f"eval/newfakes/{name}" in m, name
    assert m["eval/newfakes/n_fake"] == 6 and m["eval/newfakes/n_real"] == 0
    assert not any(
        k.startswith("eval/newfakes/") and k.split("/")[-1].startswith(("roc_auc", "average_precision", "balanced"))
        for k in m
    )
    assert m["eval/newfakes/accuracy_at_valid"] == m["eval/newfakes/accuracy_fake_at_valid"]
    # Every condition and rate extracted its own group: 2 sets (12 + 6), 2 conditions and 2 rates (12 each).
    assert m["extract/extra_images_extracted"] == 12 + 6 + 4 * 12
    assert summary["extra_metrics"]["rate/6/roc_auc"] == pytest.approx(m["rate/6/roc_auc"])
    artifacts = {
        a.path
        for d in ("extra", "figures", "scores", "dataset", "robustness")
        for a in client.list_artifacts(run.info.run_id, d)
    }
    assert {
        "extra/table.md",
        "extra/table.csv",
        "figures/robustness.png",
        "figures/rates.png",
        "robustness/conditions.json",
        "scores/eval_newfakes_scores.csv",
        "scores/robust_noise_s5_scores.csv",
        "scores/rate_6_scores.csv",
        "dataset/eval_diffusion_manifest.csv",
        "dataset/eval_newfakes_manifest.csv",
    } <= artifacts
    table = open(client.download_artifacts(run.info.run_id, "extra/table.md", str(tmp_path))).read()
    for row in (
        "| test | 12 |",
        "| eval/diffusion |",
        "| eval/newfakes | 12 | 0 | 6 |",
        "| robust/blur_s1 |",
        "| rate/6 | 6 |",
    ):
        assert row in table, row
    conditions = json.loads(
        open(client.download_artifacts(run.info.run_id, "robustness/conditions.json", str(tmp_path))).read()
    )
    assert conditions["noise_s5"]["kind"] == "noise" and conditions["noise_s5"]["seed"] == 3
    assert (tmp_path / "data" / "synthetic_s42_64px_1-1-6_diffusion" / "GENERATOR.json").is_file()
    assert (tmp_path / "data" / "synthetic_s42_64px_12-6-6_transposed_conv" / "GENERATOR.json").is_file()

    caplog.clear()
    with caplog.at_level(logging.INFO):
        train_in(compose_cfg(args), tmp_path / "run2")
    rerun = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])[0]
    assert rerun.info.run_id != run.info.run_id
    assert rerun.data.metrics["extract/images_extracted"] == 0
    assert rerun.data.metrics["extract/extra_images_extracted"] == 0
    assert rerun.data.metrics["extract/extra_images_cached"] == 12 + 6 + 4 * 12
    assert "nothing to extract" in caplog.text and "extracting" not in caplog.text
    # Cached latents score exactly as freshly extracted ones (perturbations are deterministic).
    for key, value in m.items():
        if key.startswith(("eval/", "robust/", "rate/")):
            assert rerun.data.metrics[key] == pytest.approx(value), key


def test_extra_sets_compose_at_their_own_package_with_their_own_folders(tmp_path):
    cfg = compose_cfg([*tiny_overrides(tmp_path), *extra_sets(tmp_path), "eval.diffusion.seed=7"])
    assert cfg.dataset.root == f"{tmp_path}/data/synthetic_s42_64px_12-6-6_legacy"
    assert cfg.eval.diffusion.root == f"{tmp_path}/data/synthetic_s7_64px_1-1-6_diffusion"
    assert dict(cfg.eval.newfakes.split_fractions) == FolderDataset.DEFAULT_FRACTIONS  # the layout's own
    assert list(cfg.eval_bpp) == []


def test_a_one_class_folder_set_lists_and_samples_only_its_class(tmp_path):
    new_fakes(tmp_path / "newfakes", n=5)
    keys = dict(
        name="folder",
        root=str(tmp_path / "newfakes"),
        image_size=64,
        train_split="train",
        valid_split="valid",
        test_split="test",
        num_train=None,
        size_policy="keep",
        max_bad_fraction=0.0,
        seed=0,
        split_files={},
        split_fractions={"test": 1.0},
    )
    everything = load_test_split(
        "newfakes", FolderDataset(classes={"real": None, "fake": "fake"}, num_test=None, **keys), 1
    )
    assert len(everything) == 5 and set(everything.labels) == {0}
    sampled = load_test_split("newfakes", FolderDataset(classes={"real": None, "fake": "fake"}, num_test=3, **keys), 1)
    assert len(sampled) == 3 and set(sampled.ids) <= set(everything.ids)
    capped = load_test_split("newfakes", FolderDataset(classes={"real": None, "fake": "fake"}, num_test=9, **keys), 1)
    assert len(capped) == 5  # at most what the set has (with a warning)
    default = {**keys, "split_fractions": FolderDataset.DEFAULT_FRACTIONS}  # a set given only to evaluate: whole
    assert (
        len(
            load_test_split(
                "newfakes", FolderDataset(classes={"real": None, "fake": "fake"}, num_test=None, **default), 1
            )
        )
        == 5
    )
    with pytest.raises(UserError, match="missing class folder .*real/ for real"):  # a folder named but absent
        load_test_split("x", FolderDataset(classes={"real": "real", "fake": "fake"}, num_test=None, **keys), 1)
    with pytest.raises(UserError, match="both null"):
        FolderDataset(classes={"real": None, "fake": None}, num_test=None, **keys)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["+dataset@eval.x=folder", "eval.x.image_size=32"],
            "'eval.x.image_size': 32; the model was trained on dataset.image_size=64",
        ),
        (["+dataset@eval.x=folder", "eval.x.image_size=64"], "'eval.x.root': '.*' does not exist"),
        (["+dataset@eval.x=synthetic", "eval.x.image_size=64", "eval.x.num_test=-3"], "'eval.x.num_test': -3"),
        (["+dataset@eval.x=synthetic", "eval.x.image_size=64", "eval.x.generator=gan"], "'eval.x.generator': 'gan'"),
        (["eval_bpp=[6,0]"], "'eval_bpp': 0; each rate must be an integer between 1 and 200"),
        (["+robustness.conditions.b={_target_:jpegai_fd.perturb.GaussianBlur,sigma:0}"], "'robustness.conditions.b'"),
    ],
)
def test_a_bad_extra_set_condition_or_rate_is_one_line_before_any_work(tmp_path, overrides, message):
    cfg = compose_cfg([*tiny_overrides(tmp_path), *overrides])
    with pytest.raises(UserError, match=message) as info:
        build_extras(cfg, None)
    assert "\n" not in str(info.value)


def test_the_plan_keeps_other_rates_in_order_and_skips_the_trained_one(tmp_path):
    cfg = compose_cfg([*tiny_overrides(tmp_path), "+robustness=standard", "eval_bpp=[25,12,6,25]"])
    plan = build_extras(cfg, None)
    assert plan.rates == (25, 6) and len(plan.conditions) == 17 and not plan.sets


def test_the_demo_generator_choice_writes_that_generator_s_fakes(tmp_path):
    def demo(generator, root):
        return SyntheticFaces(
            name="synthetic",
            root=str(root),
            image_size=32,
            train_split="train",
            valid_split="valid",
            test_split="test",
            num_train=None,
            num_test=None,
            size_policy="keep",
            max_bad_fraction=0.0,
            seed=5,
            num_per_class={"train": 1, "valid": 1, "test": 1},
            generator=generator,
        )

    fakes = {}
    for generator in ("legacy", "transposed_conv", "bilinear_noise", "diffusion"):
        ds = demo(generator, tmp_path / generator)
        ds.prepare()
        assert json.loads((tmp_path / generator / "GENERATOR.json").read_text())["generator"] == generator
        split = ds.listing("test")
        fakes[generator] = np.asarray(Image.open(split.paths[list(split.labels).index(0)]))
        if generator != "legacy":  # the same pixels as the generator module's, saved at their quality
            pixels, _ = make_image(0, 5, 6, 32, generator)  # image 6 of 6: the test split's fake
            assert np.abs(fakes[generator].astype(int) - pixels).mean() < 6
    assert len({f.tobytes() for f in fakes.values()}) == 4
    with pytest.raises(UserError, match="allowed values: legacy, transposed_conv, bilinear_noise, diffusion"):
        demo("gan", tmp_path / "gan")


def test_the_table_shows_intervals_and_leaves_one_class_cells_empty():
    entries = [
        Entry(
            "test",
            "test",
            12,
            {
                "n_real": 5,
                "n_fake": 5,
                "accuracy_at_valid": 0.8,
                "accuracy_at_valid_ci_low": 0.5,
                "accuracy_at_valid_ci_high": 1.0,
                "roc_auc": 0.9,
            },
        ),
        Entry(
            "eval/new",
            "eval",
            12,
            {"n_real": 0, "n_fake": 4, "accuracy_at_valid": 0.25, "accuracy_fake_at_valid": 0.25},
        ),
    ]
    text = table_markdown(entry_rows(entries))
    assert "| test | 12 | 5 | 5 | 0.800 [0.500, 1.000] | - | 0.900 |" in text
    assert "| eval/new | 12 | 0 | 4 | 0.250 | - | - | - | - | 0.250 |" in text


def test_the_sweep_report_labels_runs_by_what_varied_and_writes_the_matrix(tmp_path):
    from jpegai_fd.report.build import write_extra_report

    def run(generator, auc):
        return {
            "run_id": f"id-{generator}",
            "bpp": 12,
            "params.dataset.generator": generator,
            "params.dataset.root": f"data/{generator}",
            "params.seed": "42",
            "test/roc_auc": auc,
            "test/accuracy": auc,
            "rate/6/roc_auc": auc - 0.1,
            "rate/6/accuracy_at_valid": auc - 0.1,
            "rate/6/n_real": 5,
            "rate/6/n_fake": 5,
            **{f"eval/{g}/{k}": v for g in ("a", "b") for k, v in (("roc_auc", auc / 2), ("n_real", 5), ("n_fake", 5))},
            "eval/a/accuracy_at_valid": 0.5,
            "eval/a/accuracy_at_valid_ci_low": 0.25,
            "eval/a/accuracy_at_valid_ci_high": 0.75,
        }

    import pandas as pd

    files = write_extra_report(pd.DataFrame([run("a", 0.9), run("b", 0.8)]), tmp_path, "sweep")
    assert {f.name for f in files} == {"extra.csv", "extra.md", "extra_auc_matrix.md", "extra_rates.png"}
    matrix = (tmp_path / "extra_auc_matrix.md").read_text()
    assert "| run | test | eval/a | eval/b |" in matrix and "| dataset.generator=a | 0.900 | 0.450 | 0.450 |" in matrix
    table = (tmp_path / "extra.md").read_text()
    assert "| dataset.generator=b | eval/a | 5 | 5 | 0.500 [0.250, 0.750] | 0.400 |" in table
    assert write_extra_report(pd.DataFrame([{"run_id": "x", "test/roc_auc": 0.5}]), tmp_path / "none", "s") == []
