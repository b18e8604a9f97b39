"""classifier=cnn: the real job on tiny data logs its metrics and loss/accuracy curves; same seed,
same predictions; a clear error outside preprocess=flatten."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from jfd_testing import compose_cfg, run_cli, tiny_overrides
from jpegai_fd.classifiers.cnn import CNNClassifier
from jpegai_fd.components import build, check_compatible
from jpegai_fd.errors import UserError
from jfd_testing import train as run_job

# 64 px images: the config resolves the latent grid to 4 x 4.
CNN_SMALL = [
    "classifier=cnn",
    "classifier.estimator.epochs=4",
    "classifier.estimator.width=8",
    "classifier.estimator.batch_size=8",
    "classifier.estimator.validation_fraction=0.2",
    "classifier.search_space.epochs.low=2",
    "classifier.search_space.epochs.high=3",
    "classifier.search_space.width.high=16",
    "classifier.search_space.depth.high=2",
]


@pytest.mark.slow
def test_cnn_job_logs_metrics_and_curves(tmp_path):
    base = [o for o in tiny_overrides(tmp_path, train=12, test=6) if not o.startswith("classifier.")]
    metrics = run_job(compose_cfg([*base, *CNN_SMALL]))
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id])
    assert run.data.tags["classifier"] == "cnn"
    assert run.data.metrics["test/accuracy"] == metrics["test/accuracy"]
    assert 0 <= run.data.metrics["cv/best_score"] <= 1
    curves = {
        name: client.get_metric_history(run.info.run_id, f"cnn/{name}")
        for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy")
    }
    lengths = {len(h) for h in curves.values()}
    assert len(lengths) == 1 and 1 <= lengths.pop() <= 4  # the refit's epochs; tuning fits log nothing
    assert all(0 <= m.value <= 1 for m in curves["val_accuracy"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "figures")}
    assert "figures/cnn_curves.png" in artifacts


def latent_problem(n=120, seed=0):
    """Labels carried by one channel at one position of (6, 4, 4) latents, flattened like the job."""
    rng = np.random.default_rng(seed)
    V = rng.normal(size=(n, 6, 4, 4)).astype(np.float32)
    y = (V[:, 2, 1, 3] > 0).astype(np.int8)
    return V.reshape(n, -1), y


def test_same_seed_same_predictions_and_the_seed_matters():
    X, y = latent_problem()
    params = dict(grid=(4, 4), width=8, depth=2, epochs=5, batch_size=16, patience=10, n_jobs=1)
    a = CNNClassifier(random_state=7, **params).fit(X[:90], y[:90]).predict_proba(X[90:])
    b = CNNClassifier(random_state=7, **params).fit(X[:90], y[:90]).predict_proba(X[90:])
    c = CNNClassifier(random_state=8, **params).fit(X[:90], y[:90]).predict_proba(X[90:])
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_learns_a_positional_signal_and_stops_early():
    X, y = latent_problem(n=600)
    model = CNNClassifier(grid=(4, 4), width=16, depth=1, epochs=60, patience=3, lr=3e-3, n_jobs=1, random_state=0).fit(
        X[:500], y[:500]
    )
    assert (model.predict(X[500:]) == y[500:]).mean() > 0.8
    assert len(model.curves_["val_loss"]) == model.best_epoch_ + 1 + 3 < 60


def test_training_on_row_indices_reads_no_other_rows():
    X, y = latent_problem()
    rows = np.arange(0, 120, 2)
    poisoned = X.copy()
    poisoned[1::2] = np.nan  # rows outside ``rows`` must never be read
    params = dict(grid=(4, 4), width=8, epochs=3, batch_size=16, n_jobs=1, random_state=1)
    p = CNNClassifier(**params).fit(poisoned, y, rows=rows).predict_proba(X[:10])
    assert np.array_equal(p, CNNClassifier(**params).fit(X[rows], y[rows]).predict_proba(X[:10]))


def test_needs_flatten_and_a_matching_grid():
    X, y = latent_problem(n=20)
    with pytest.raises(UserError, match="preprocess=flatten"):  # the rule cnn declares, checked before any work
        check_compatible(build(compose_cfg(["classifier=cnn", "preprocess=single"])), bpp=12)
    with pytest.raises(UserError, match="grid"):
        CNNClassifier(grid=(16, 16)).fit(X, y)


def test_the_latent_grid_follows_the_image_size():
    for side, grid in ((256, [16, 16]), (64, [4, 4]), (200, [13, 13])):
        cfg = compose_cfg(["classifier=cnn", f"dataset.image_size={side}"])
        assert list(cfg.classifier.estimator.grid) == grid


@pytest.mark.slow
def test_the_resolved_job_config_prints(tmp_path):
    out = run_cli("jpegai_fd", ["classifier=cnn", "dataset.image_size=128", "--cfg", "job", "--resolve"], tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "grid:\n    - 8\n    - 8" in out.stdout


def test_a_configured_gpu_is_used_when_present_else_cpu_with_one_warning(caplog):
    # No GPU on the development machine: the fallback is what runs here; on a GPU machine the same
    # test checks that training really moved to the device.
    import torch

    X, y = latent_problem()
    params = dict(grid=(4, 4), width=8, epochs=3, batch_size=16, n_jobs=1, random_state=2)
    cpu = CNNClassifier(**params).fit(X[:90], y[:90]).predict_proba(X[90:])
    with caplog.at_level("WARNING", logger="jpegai_fd.classifiers.cnn"):
        model = CNNClassifier(device="cuda", **params).fit(X[:90], y[:90])
    if torch.cuda.is_available():
        assert model.device_ == "cuda"
        assert np.allclose(model.predict_proba(X[90:]), cpu, atol=1e-3)
    else:
        assert model.device_ == "cpu"
        assert [r.message for r in caplog.records if "no CUDA device" in r.message]
        assert np.array_equal(model.predict_proba(X[90:]), cpu)
