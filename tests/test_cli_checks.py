"""Every value a user can set is checked before any work (one line naming the key, the value and what
is allowed); a search without a completed trial never passes for a result; errors print once."""

from __future__ import annotations

import json

import pytest
from hydra.core.global_hydra import GlobalHydra
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from jfd_testing import run_cli, tiny_overrides
from jfd_testing import preflight
from jpegai_fd.errors import UserError


@pytest.fixture(autouse=True)
def _clear_hydra():
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


# Each value is the second of a sweep, so the check must cover every value of a sweep.
@pytest.mark.parametrize(
    "sweep,needles",
    [
        ("n_jobs=1,0", ["'n_jobs': 0", "-1", ">= 1"]),
        (
            "classifier.estimator.n_estimators=20,-1",
            ["'classifier.estimator.n_estimators': -1", "RandomForestClassifier", "[1, inf)"],
        ),
        (
            "classifier.search_space.n_estimators.low=5,-5",
            ["'classifier.search_space.n_estimators.low': -5", "[1, inf)"],
        ),
        ("tuning.scoring=accuracy,auc", ["'tuning.scoring': 'auc'", "roc_auc"]),
        (
            "tracking.uri=sqlite:///x.db,htp://127.0.0.1:5000",
            ["'tracking.uri': 'htp://127.0.0.1:5000'", "http://", "sqlite://"],
        ),
        ("dataset.num_train=10,1", ["'dataset.num_train': 1", ">= 2"]),
    ],
)
@pytest.mark.slow
def test_bad_values_fail_before_any_work_with_one_line(tmp_path, sweep, needles):
    key = sweep.partition("=")[0]
    args = [
        "-m",
        *[o for o in tiny_overrides(tmp_path) if o.partition("=")[0] != key],
        sweep,
        f"hydra.sweep.dir={tmp_path}/sweep",
    ]
    result = run_cli("jpegai_fd", args, cwd=tmp_path, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    line = one_error_line(result)
    assert line.startswith("jpegai_fd: error: invalid value for ")
    for needle in needles:
        assert needle in line
    # No work: no data generated, no cache, no MLflow database, no sweep folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "overrides,needles",
    [
        # The project's own estimators declare scikit-learn style constraints too.
        (
            ["classifier=lgbm", "classifier.estimator.num_leaves=1"],
            ["'classifier.estimator.num_leaves': 1", "LGBMClassifier", "[2, inf)"],
        ),
        (["classifier=lgbm", "classifier.search_space.max_bin.choices=[1,31]"], ["max_bin.choices[0]': 1", "[2, inf)"]),
        (
            ["classifier=lgbm", "classifier.estimator.device=tpu"],
            ["'classifier.estimator.device': 'tpu'", "cpu", "cuda", "gpu"],
        ),
        (["classifier=cnn", "classifier.estimator.device=gpu"], ["'classifier.estimator.device': 'gpu'", "cuda:N"]),
        (
            ["classifier=cnn", "classifier.search_space.depth.low=0"],
            ["'classifier.search_space.depth.low': 0", "[1, inf)"],
        ),
        (
            ["classifier=cnn", "classifier.estimator.dropout=1.5"],
            ["'classifier.estimator.dropout': 1.5", "CNNClassifier"],
        ),
        (
            [
                "classifier=hgb",
                "classifier.search_space.learning_rate.low=0",
                "classifier.search_space.learning_rate.log=false",
            ],
            ["'classifier.search_space.learning_rate.low': 0.0", "HistGradientBoostingClassifier"],
        ),
        (["+classifier.estimator.criterion=bogus"], ["'classifier.estimator.criterion': 'bogus'", "gini"]),
        (["+classifier.estimator.n_trees=5"], ["unknown parameter 'classifier.estimator.n_trees'", "n_estimators"]),
        (
            ["+classifier.search_space.depth={type:int,low:1,high:3}"],
            ["unknown parameter 'classifier.search_space.depth'"],
        ),
        (["classifier.estimator._target_=sklearn.ensemble.Forest"], ["'classifier.estimator._target_'"]),
        (
            ["classifier.search_space.n_estimators.low=0", "classifier.search_space.n_estimators.log=false"],
            ["[1, inf)"],
        ),
        (["classifier.search_space.max_depth.low=1.5"], ["'classifier.search_space.max_depth.low': 1.5", "integer"]),
        (
            ["classifier=cnn", "classifier.search_space.weight_decay.low=0"],
            ["'classifier.search_space.weight_decay.low': 0", "log-scale"],
        ),
        (["tuning.scoring=acuracy"], ["did you mean accuracy"]),
        (["tracking.uri=file:///tmp/mlruns"], ["'tracking.uri'", "sqlite://"]),
        (["tuning.storage=redis://host/0"], ["'tuning.storage'", "journal://"]),
        (["tuning.heartbeat_s=0"], ["'tuning.heartbeat_s': 0"]),
        (["tuning.pruner.n_startup_trials=-1"], ["'tuning.pruner.n_startup_trials': -1"]),
        (["tuning.pruner.n_warmup_steps=x"], ["'tuning.pruner.n_warmup_steps': 'x'"]),
        (["tracking.resume=maybe"], ["'tracking.resume': 'maybe'", "true or false"]),
        (["tracking.experiment=''"], ["'tracking.experiment'"]),
        (["dataset=folder", "dataset.size_policy=crop"], ["'dataset.size_policy': 'crop'", "center_crop"]),
        (["dataset=faces140k", "dataset.max_bad_fraction=2"], ["'dataset.max_bad_fraction': 2", "[0, 1]"]),
        (["dataset=folder", "dataset.split_fractions.test=-0.2"], ["'dataset.split_fractions.test': -0.2"]),
        (["dataset.num_per_class.test=0"], ["'dataset.num_per_class.test': 0"]),
        (["dataset.image_size=0"], ["'dataset.image_size': 0"]),
        (["preprocess=multi", "preprocess.num_patches=300"], ["'preprocess.num_patches': 300", "16x16"]),
        (["preprocess=single", "preprocess.col=16"], ["'preprocess.col': 16", "between 0 and 15"]),
        (["encoder.rate_search_iters=0"], ["'encoder.rate_search_iters': 0"]),
    ],
)
def test_preflight_checks_every_settable_value(overrides, needles):
    with pytest.raises(UserError) as info:
        preflight(overrides)
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


@pytest.mark.parametrize(
    "overrides",
    [
        ["classifier=lgbm"],
        ["classifier=cnn", "classifier.estimator.device=cuda:1"],
        ["classifier=hgb"],
        ["n_jobs=-1"],
        ["tracking.uri=https://mlflow.lab:443"],
        ["tracking.uri=postgresql+psycopg2://u@h/db"],
        ["tuning.storage=journal:///tmp/optuna.log"],
        ["tuning.scoring=roc_auc"],
        ["preprocess=single", "preprocess.row=15"],
    ],
)
def test_valid_values_pass(overrides):
    preflight(overrides)


@pytest.mark.slow
def test_a_search_without_a_completed_trial_fails_the_job_and_prints_once(tmp_path):
    # A timeout that passes before the first trial: nothing was tuned, so the job must not pass.
    args = [*tiny_overrides(tmp_path), "preprocess=single", "tuning.timeout=0.000001", f"hydra.run.dir={tmp_path}/run"]
    result = run_cli("jpegai_fd", args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    line = one_error_line(result)
    assert line.startswith("jpegai_fd: error: no trial of the search completed") and "tuning.timeout" in line
    # The error is printed once, not also as a log line.
    assert (result.stdout + result.stderr).count("no trial of the search completed") == 1
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    (run,) = client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id])
    assert run.info.status == "FAILED" and "no trial of the search completed" in run.data.tags["error"]
    assert json.loads((tmp_path / "run" / "results.json").read_text())["status"] == "failed"


@pytest.mark.slow
def test_fixed_parameters_are_tagged_and_the_logged_params_are_what_ran(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    common = [*tiny_overrides(tmp_path), "preprocess=single"]
    tuned = run_cli("jpegai_fd", [*common, f"hydra.run.dir={tmp_path}/tuned"], cwd=tmp_path)
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    fixed = run_cli(
        "jpegai_fd",
        [*common, "tuning.n_trials=0", "classifier.estimator.n_estimators=7", f"hydra.run.dir={tmp_path}/fixed"],
        cwd=tmp_path,
    )
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert "no hyperparameter search (tuning.n_trials=0)" in fixed.stdout + fixed.stderr  # the warning
    client = MlflowClient(uri)
    runs = {
        r.data.params["tuning.n_trials"]: r
        for r in client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id])
    }
    assert runs["0"].data.tags["warning.untuned"] == "tuning.n_trials=0"
    assert runs["0"].data.params["model.n_estimators"] == "7"
    # Search space wins over classifier.estimator.*: model.* says what the final model used.
    best = json.loads((tmp_path / "tuned" / "results.json").read_text())["best_params"]
    assert best and "warning.untuned" not in runs["2"].data.tags
    assert runs["2"].data.params["classifier.estimator.n_estimators"] == "20"
    for name, value in best.items():
        assert runs["2"].data.params[f"model.{name}"] == str(value)

    # The report leaves the untuned run out and says so, unless asked.
    report = run_cli("jpegai_fd.report", ["--tracking-uri", uri, "--out", str(tmp_path / "r")], cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "report of 1 runs" in report.stdout
    assert "skipped 1 run(s) without a search result" in report.stderr and runs["0"].info.run_id[:8] in report.stderr
    report = run_cli(
        "jpegai_fd.report", ["--tracking-uri", uri, "--out", str(tmp_path / "r2"), "--include-untuned"], cwd=tmp_path
    )
    assert report.returncode == 0 and "report of 2 runs" in report.stdout and "skipped" not in report.stderr


@pytest.mark.slow
def test_report_skips_runs_with_a_nan_search_score(tmp_path):
    # Runs logged before a failed search ended FAILED: FINISHED with cv/best_score = nan.
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    exp = client.create_experiment("jpegai_fd")
    for i, score in enumerate((0.8, float("nan"))):
        tags = {
            "jpegai_fd.role": "job",
            "jpegai_fd.config_hash": f"h{i}",
            "classifier": "rf",
            "bpp": "12",
            "component": "yuv",
            "preprocess": "single",
            "latent": "y" if i else "y_hat",
            "encoder": "dct",
            "dataset": "synthetic",
        }
        run = client.create_run(exp, tags=tags)
        client.log_batch(
            run.info.run_id,
            metrics=[
                Metric("test/accuracy", 0.7, 0, 0),
                Metric("cv/best_score", score, 0, 0),
                Metric("time/fit_s", 1.0, 0, 0),
                Metric("time/tune_s", 1.0, 0, 0),
            ],
        )
        client.set_terminated(run.info.run_id, "FINISHED")
    report = run_cli("jpegai_fd.report", ["--tracking-uri", uri, "--out", str(tmp_path / "r")], cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "report of 1 runs" in report.stdout and "skipped 1 run(s)" in report.stderr


def test_report_rejects_a_bad_tracking_uri_scheme_in_one_line(tmp_path):
    result = run_cli("jpegai_fd.report", ["--tracking-uri", "htp://127.0.0.1:5000"], cwd=tmp_path, timeout=300)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "'--tracking-uri': 'htp://127.0.0.1:5000'" in line and "http://" in line
