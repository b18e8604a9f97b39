"""Config composition for every group option, and one-line errors for bad overrides."""

from __future__ import annotations

import pytest
from hydra.core.global_hydra import GlobalHydra

from jfd_testing import CONF_DIR, compose_cfg, run_cli
from jfd_testing import preflight
from jpegai_fd.errors import UserError
from jfd_testing import preflight_cfg as validate_config

GROUPS = ("dataset", "encoder", "preprocess", "classifier")


@pytest.fixture(autouse=True)
def _clear_hydra():
    GlobalHydra.instance().clear()
    yield
    GlobalHydra.instance().clear()


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def test_required_options_exist():
    assert {"flatten", "single", "multi"} <= set(group_options("preprocess"))
    assert {"rf", "hgb"} <= set(group_options("classifier"))
    assert "synthetic" in group_options("dataset")
    assert "dct" in group_options("encoder")


@pytest.mark.parametrize("group,option", [(g, o) for g in GROUPS for o in group_options(g)])
def test_every_group_option_composes_and_validates(group, option):
    cfg = compose_cfg([f"{group}={option}"])
    assert cfg[group].name == option
    validate_config(cfg)


def test_defaults_are_the_offline_thesis_setup():
    cfg = compose_cfg([])
    assert (cfg.dataset.name, cfg.encoder.name, cfg.preprocess.name, cfg.classifier.name) == (
        "synthetic",
        "dct",
        "flatten",
        "rf",
    )
    assert cfg.bpp == 12 and cfg.component == "yuv" and cfg.latent == "y_hat"
    assert cfg.tracking.uri == "sqlite:///mlflow.db"


def test_tracking_uri_follows_environment(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert compose_cfg([]).tracking.uri == "http://127.0.0.1:5999"


def test_any_key_can_be_overridden():
    cfg = compose_cfg(
        [
            "bpp=6",
            "component=y",
            "latent=y",
            "seed=7",
            "preprocess=multi",
            "preprocess.num_patches=4",
            "classifier=hgb",
            "classifier.search_space.max_iter.high=80",
            "tuning.n_trials=0",
        ]
    )
    assert (cfg.bpp, cfg.component, cfg.latent, cfg.seed) == (6, "y", "y", 7)
    assert cfg.preprocess.num_patches == 4 and cfg.classifier.search_space.max_iter.high == 80
    assert cfg.classifier.estimator.random_state == 7  # interpolated from the seed


@pytest.mark.parametrize(
    "override,needles",
    [
        ("preprocess=foo", ["'preprocess'", "flatten", "multi", "single"]),
        ("classifier=svm", ["'classifier'", "hgb", "rf"]),
        ("bpp=0", ["'bpp'", "1 and 200"]),
        ("bpp=abc", ["'bpp'", "1 and 200"]),
        ("component=rgb", ["'component'", "y, yuv"]),
        ("latent=z", ["'latent'", "y, y_hat"]),
        ("tuning.cv_folds=1", ["'tuning.cv_folds'"]),
        ("foo=1", ["'foo'", "+foo=1"]),
        ("classifier.search_space.max_depth.type=bogus", ["max_depth.type", "categorical"]),
        ("extract.codecs.y=gzip", ["'extract.codecs.y'", "none, lz4, zstd"]),
        ("scoring.threshold_rule=youden", ["'scoring.threshold_rule'", "balanced_accuracy, target_fpr"]),
        ("scoring.target_fpr=0.7", ["'scoring.target_fpr'", "between 0 and 0.5"]),
        ("scoring.calibration=platt", ["'scoring.calibration'", "sigmoid, isotonic, none"]),
        ("scoring.bootstrap_resamples=-1", ["'scoring.bootstrap_resamples'", ">= 0"]),
        ("scoring.ci_level=1.5", ["'scoring.ci_level'"]),
        ("scoring.audit_max_auc=0.2", ["'scoring.audit_max_auc'"]),
        ("dataset.valid_split=null", ["'dataset.valid_split'", "threshold"]),
        ("dataset.valid_split=test", ["dataset.valid_split", "three different splits"]),
    ],
)
def test_preflight_rejects_bad_values(override, needles):
    with pytest.raises(UserError) as info:
        preflight([override])
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


def test_preflight_checks_every_value_of_a_sweep():
    preflight(["-m", "preprocess=flatten,single,multi", "bpp=6,12"])
    with pytest.raises(UserError, match="'bpp'"):
        preflight(["-m", "preprocess=flatten,single", "bpp=6,0"])
    with pytest.raises(UserError, match="'preprocess'"):
        preflight(["-m", "preprocess=flatten,foo", "bpp=6"])


@pytest.mark.parametrize(
    "override,key",
    [
        ("preprocess=foo", "'preprocess'"),
        ("bpp=0", "'bpp'"),
        ("component=rgb", "'component'"),
        ("latent=z", "'latent'"),
    ],
)
def test_cli_fails_before_any_work_with_one_line(tmp_path, override, key):
    result = run_cli(
        "jpegai_fd",
        [
            "-m",
            override,
            "bpp=6,12" if not override.startswith("bpp") else "seed=1",
            f"paths.data_dir={tmp_path}/data",
            f"paths.cache={tmp_path}/cache.zarr",
        ],
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert key in lines[0] and ("allowed values" in lines[0] or "between" in lines[0])
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "data").exists() and not (tmp_path / "cache.zarr").exists()
    assert not (tmp_path / "outputs").exists()


def test_jpegai_table_mode_rejects_other_rates_before_any_work():
    preflight(["encoder=jpegai", "encoder.rate_mode=table", "bpp=12"])
    preflight(["encoder=jpegai", "bpp=6"])  # search mode takes any rate
    with pytest.raises(UserError, match="bpp=6 is not available with encoder.rate_mode=table"):
        preflight(["-m", "encoder=jpegai", "encoder.rate_mode=table", "bpp=12,6"])


def test_an_unknown_key_among_several_overrides_is_named_alone():
    # rf has no stream_from_cache: the error names that key and its override, not the whole line.
    with pytest.raises(UserError) as err:
        preflight(["classifier=rf", "bpp=6", "classifier.stream_from_cache=true"])
    assert str(err.value).startswith(
        "unknown config key 'classifier.stream_from_cache' in 'classifier.stream_from_cache=true';"
    )
    assert str(err.value).endswith("add a new key with +classifier.stream_from_cache=true")


def test_stream_from_cache_takes_a_boolean():
    with pytest.raises(UserError, match="invalid value for 'classifier.stream_from_cache': 'maybe'; use true or false"):
        preflight(["classifier=cnn", "classifier.stream_from_cache=maybe"])
    preflight(["classifier=cnn", "classifier.stream_from_cache=false"])


@pytest.mark.slow
def test_a_sweep_combining_cnn_with_patches_fails_before_any_work(tmp_path):
    # cnn declares that it needs whole latents: checked for every job of the sweep, named with its combination.
    with pytest.raises(UserError) as err:
        preflight(["-m", "classifier=rf,cnn", "preprocess=flatten,multi"])
    message = str(err.value)
    assert "\n" not in message and "classifier=cnn" in message and "preprocess=flatten" in message
    assert "this sweep combines classifier=cnn preprocess=multi" in message and "separately" in message
    preflight(["-m", "classifier=rf,cnn", "preprocess=flatten"])  # every job can run
    result = run_cli(
        "jpegai_fd",
        [
            "-m",
            "classifier=cnn,rf",
            "preprocess=single,flatten",
            f"paths.data_dir={tmp_path}/data",
            f"paths.cache={tmp_path}/cache.zarr",
        ],
        cwd=tmp_path,
        timeout=120,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "classifier=cnn preprocess=single" in lines[0]
    assert not (tmp_path / "data").exists() and not (tmp_path / "outputs").exists()


def test_the_experiments_swept_factors_are_checked_too():
    # quick_grid sweeps bpp 6,12 itself; a table-mode JPEG AI run of it names the job that cannot run.
    with pytest.raises(UserError, match="bpp=6 is not available with encoder.rate_mode=table.*this sweep combines"):
        preflight(
            [
                "-m",
                "experiment=quick_grid",
                "encoder=jpegai",
                "encoder.rate_mode=table",
                "classifier=rf",
                "preprocess=flatten",
                "component=y",
                "latent=y",
            ]
        )
