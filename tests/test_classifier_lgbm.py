"""classifier=lgbm: the real job on tiny data logs its metrics and curves; early stopping; one
binned dataset per binning setting across all trials and folds of a study."""

from __future__ import annotations

import pytest

import math

import numpy as np
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from jfd_testing import compose_cfg, tiny_overrides
from jpegai_fd.classifiers import fit_on_rows
from jpegai_fd.classifiers.lgbm import LGBMClassifier, LGBMFolds
from jfd_testing import build_group
from jpegai_fd.features.matrix import FeatureSet
from jfd_testing import train as run_job
from jpegai_fd.tuning import TuningSettings
from jpegai_fd.tuning.study import tune

LGBM_SMALL = [
    "classifier=lgbm",
    "classifier.estimator.n_estimators=60",
    "classifier.estimator.min_child_samples=3",
    "classifier.search_space.min_child_samples.low=2",
    "classifier.search_space.min_child_samples.high=6",
    "classifier.estimator.validation_fraction=0.2",
]


def job_overrides(tmp_path, extra):
    base = [o for o in tiny_overrides(tmp_path, train=16, test=6) if not o.startswith("classifier.")]
    return [*base, *extra]


@pytest.mark.slow
def test_lgbm_job_logs_metrics_and_curves(tmp_path):
    cfg = compose_cfg(job_overrides(tmp_path, LGBM_SMALL))
    metrics = run_job(cfg)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id])
    assert run.data.tags["classifier"] == "lgbm"
    assert run.data.tags["classifier.device_used"] == "cpu"  # the configured device, or where it fell back to
    assert run.data.metrics["test/accuracy"] == metrics["test/accuracy"]
    assert 0 <= run.data.metrics["test/roc_auc"] <= 1 and math.isfinite(run.data.metrics["cv/best_score"])
    assert run.data.metrics["data/num_features"] == (256 + 128) * 4 * 4
    # The refit logged its per-round curves (tuning fits do not), with early stopping active.
    val = client.get_metric_history(run.info.run_id, "lgbm/val_logloss")
    assert 1 <= len(val) <= 60 and [m.step for m in val] == list(range(len(val)))
    assert len(client.get_metric_history(run.info.run_id, "lgbm/train_logloss")) == len(val)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert "figures/lgbm_curves.png" in artifacts


def noisy_problem(n=400, d=300, seed=0):
    """One informative feature among noise: the validation loss bottoms out, then rises."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] + 1.5 * rng.normal(size=n) > 0).astype(np.int8)
    return X, y


def test_early_stopping_stops_on_the_validation_fold():
    X, y = noisy_problem()
    model = LGBMClassifier(
        n_estimators=500,
        learning_rate=0.3,
        num_leaves=15,
        min_child_samples=5,
        colsample_bytree=0.5,
        early_stopping_rounds=10,
        validation_fraction=0.2,
        n_jobs=1,
        random_state=3,
    ).fit(X, y)
    val = model.curves_["val_logloss"]
    assert model.best_iteration_ < 100 and len(val) == model.best_iteration_ + 10
    assert int(np.argmin(val)) + 1 == model.best_iteration_
    assert model.booster_.current_iteration() == model.best_iteration_  # trees past the best are dropped
    # Disabled: exactly n_estimators rounds, no validation curve.
    full = LGBMClassifier(n_estimators=40, early_stopping_rounds=0, n_jobs=1).fit(X, y)
    assert full.best_iteration_ == 40 and set(full.curves_) == {"train_logloss"}
    p = model.predict_proba(X[:5])
    assert p.shape == (5, 2) and np.allclose(p.sum(axis=1), 1)


def test_final_fit_keeps_each_images_patches_on_one_side_of_the_early_stopping_split():
    # Multiple patches: 15 rows per image. The job's final fit goes through fit_on_rows, which hands
    # the image of each row to the estimator, so no image is both trained on and watched.
    X, y = noisy_problem()
    groups = np.arange(len(y)) // 15
    y = y[groups * 15]  # one label per image, as patches of an image share it
    model = LGBMClassifier(n_estimators=30, early_stopping_rounds=5, validation_fraction=0.2, n_jobs=1)
    watched = set(groups[fit_on_rows(model, X, y, groups).validation_rows_])
    trained = set(groups) - watched
    assert watched and trained
    assert all(set(np.flatnonzero(groups == g)) <= set(model.validation_rows_) for g in watched)
    # Without the groups the split is by row, and the same images sit on both sides.
    leaky = LGBMClassifier(n_estimators=30, early_stopping_rounds=5, validation_fraction=0.2, n_jobs=1).fit(X, y)
    assert set(groups[leaky.validation_rows_]) & set(groups[np.setdiff1d(np.arange(len(y)), leaky.validation_rows_)])


def test_tuning_bins_once_per_binning_setting_and_reuses_it_across_folds():
    X, y = noisy_problem(n=120, d=50)
    features = FeatureSet(X, y, np.arange(len(y)), len(y))
    cfg = compose_cfg(
        [
            "classifier=lgbm",
            "n_jobs=1",
            "classifier.estimator.n_estimators=20",
            "classifier.estimator.min_child_samples=5",
        ]
    )
    backend = LGBMFolds(build_group(cfg, "classifier"), features, "accuracy")
    fit_idx, val_idx = np.arange(0, 80), np.arange(80, 120)
    first = backend({"max_bin": 31}, fit_idx, val_idx)
    dataset = backend.binned[next(iter(backend.binned))]
    backend({"max_bin": 31, "num_leaves": 8}, val_idx, fit_idx)
    assert len(backend.binned) == 1 and backend.binned[next(iter(backend.binned))] is dataset
    backend({"max_bin": 15}, fit_idx, val_idx)
    assert len(backend.binned) == 2
    assert 0 <= first <= 1


def test_study_with_the_lgbm_backend_finds_parameters(tmp_path):
    X, y = noisy_problem(n=150, d=40)
    features = FeatureSet(X, y, np.arange(len(y)), len(y))
    cfg = compose_cfg(
        [
            "classifier=lgbm",
            "n_jobs=1",
            "classifier.estimator.n_estimators=30",
            "tuning.n_trials=3",
            "tuning.cv_folds=2",
            "classifier.search_space.min_child_samples.low=3",
        ]
    )
    result = tune(
        build_group(cfg, "classifier"),
        features,
        TuningSettings(**OmegaConf.to_container(cfg.tuning, resolve=True)),
        cfg.seed,
        "lgbm-test",
    )
    assert set(result.best_params) == set(cfg.classifier.search_space) and 0 <= result.best_score <= 1
    assert len(result.trials) == 3


def test_a_configured_gpu_is_used_when_present_else_cpu_with_one_warning(caplog):
    # The PyPI wheel has the OpenCL ("gpu") backend; without an OpenCL device (the development
    # machine) training falls back to cpu and gives the cpu model exactly.
    from jpegai_fd.classifiers.lgbm import device_available

    X, y = noisy_problem()
    params = dict(n_estimators=20, early_stopping_rounds=0, n_jobs=1, random_state=4)
    cpu = LGBMClassifier(**params).fit(X, y).predict_proba(X[:20])
    with caplog.at_level("WARNING", logger="jpegai_fd.classifiers.lgbm"):
        model = LGBMClassifier(device="gpu", **params).fit(X, y)
    if device_available("gpu"):
        assert model.device_ == "gpu"
        assert np.allclose(model.predict_proba(X[:20]), cpu, atol=0.05)
    else:
        assert model.device_ == "cpu"
        assert [r.message for r in caplog.records if "not available" in r.message]
        assert np.array_equal(model.predict_proba(X[:20]), cpu)
