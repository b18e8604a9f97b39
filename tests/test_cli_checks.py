"""Every value a user can set is checked before any work (one line naming the key, the value and what
is allowed); a search without a completed trial never passes for a result; errors print once."""

from __future__ import annotations

import json
import logging

import pytest
from hydra.core.global_hydra import GlobalHydra
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from jfd_testing import compose_cfg, job_inputs, preflight, run_cli, tiny_overrides
from jpegai_fd.errors import UserError
from jpegai_fd.job import run_job
from jpegai_fd.report.__main__ import main as report_main
from jpegai_fd.tracking.settings import JobPlace


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
BAD_SWEEPS = [
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
]


def sweep_args(tmp_path, sweep: str) -> list[str]:
    key = sweep.partition("=")[0]
    others = [o for o in tiny_overrides(tmp_path) if o.partition("=")[0] != key]
    return ["-m", *others, sweep, f"hydra.sweep.dir={tmp_path}/sweep"]


@pytest.mark.parametrize("sweep,needles", BAD_SWEEPS)
def test_bad_values_of_a_sweep_fail_the_preflight_in_one_line(tmp_path, sweep, needles):
    with pytest.raises(UserError) as info:
        preflight(sweep_args(tmp_path, sweep))
    line = str(info.value)
    assert "\n" not in line and line.startswith("invalid value for ")
    for needle in needles:
        assert needle in line


@pytest.mark.slow
def test_a_bad_value_of_a_sweep_fails_the_command_before_any_work_with_one_line(tmp_path):
    # The command line's side of the preflight above (one case: the check is the same for every key).
    sweep, needles = BAD_SWEEPS[0]
    result = run_cli("jpegai_fd", sweep_args(tmp_path, sweep), cwd=tmp_path, timeout=300)
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


def job(tmp_path, name: str, overrides: list[str]) -> dict:
    """The results.json of an in-process job of the tiny demo, its output folder ``tmp_path/name``."""
    settings, parts = job_inputs(compose_cfg([*tiny_overrides(tmp_path), "preprocess=single", *overrides]))
    (tmp_path / name).mkdir()
    run_job(settings, parts, JobPlace(output_dir=tmp_path / name))
    return json.loads((tmp_path / name / "results.json").read_text())


@pytest.mark.slow
def test_fixed_parameters_are_tagged_and_the_logged_params_are_what_ran(tmp_path, caplog, capsys):
    # In-process: the jobs and the report (their command lines run as processes in other tests).
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    best = job(tmp_path, "tuned", [])["best_params"]
    with caplog.at_level(logging.WARNING, logger="jpegai_fd.job"):
        job(tmp_path, "fixed", ["tuning.n_trials=0", "classifier.estimator.n_estimators=7"])
    assert "no hyperparameter search (tuning.n_trials=0)" in caplog.text  # the warning
    client = MlflowClient(uri)
    runs = {
        r.data.params["tuning.n_trials"]: r
        for r in client.search_runs([client.get_experiment_by_name("jpegai_fd").experiment_id])
    }
    assert runs["0"].data.tags["warning.untuned"] == "tuning.n_trials=0"
    assert runs["0"].data.params["model.n_estimators"] == "7"
    # Search space wins over classifier.estimator.*: model.* says what the final model used.
    assert best and "warning.untuned" not in runs["2"].data.tags
    assert runs["2"].data.params["classifier.estimator.n_estimators"] == "20"
    for name, value in best.items():
        assert runs["2"].data.params[f"model.{name}"] == str(value)

    # The report leaves the untuned run out and says so, unless asked.
    capsys.readouterr()
    assert report_main(["--tracking-uri", uri, "--out", str(tmp_path / "r")]) == 0
    out, err = capsys.readouterr()
    assert "report of 1 runs" in out
    assert "skipped 1 run(s) without a search result" in err and runs["0"].info.run_id[:8] in err
    assert report_main(["--tracking-uri", uri, "--out", str(tmp_path / "r2"), "--include-untuned"]) == 0
    out, err = capsys.readouterr()
    assert "report of 2 runs" in out and "skipped" not in err


@pytest.mark.slow
def test_report_skips_runs_with_a_nan_search_score(tmp_path, capsys):
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
    assert report_main(["--tracking-uri", uri, "--out", str(tmp_path / "r")]) == 0
    out, err = capsys.readouterr()
    assert "report of 1 runs" in out and "skipped 1 run(s)" in err


def test_report_rejects_a_bad_tracking_uri_scheme_in_one_line(tmp_path):
    result = run_cli("jpegai_fd.report", ["--tracking-uri", "htp://127.0.0.1:5000"], cwd=tmp_path, timeout=300)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "'--tracking-uri': 'htp://127.0.0.1:5000'" in line and "http://" in line
