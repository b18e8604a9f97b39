"""Shared helpers for the tests: tiny configs, the config composer, the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import jpegai_fd  # noqa: F401  (registers the config schema and resolvers that conf/ needs)

REPO = Path(__file__).resolve().parent.parent
CONF_DIR = REPO / "conf"


def tiny_overrides(tmp: Path, train: int = 12, test: int = 6, size: int = 64, classifier: str = "rf") -> list[str]:
    """Overrides that keep a job to seconds: ``debug=tiny`` (conf/debug/tiny.yaml, the one definition of
    toy size: 64x64 images, 12 + 6 images per class, few trials, toy models), all files under ``tmp``;
    ``train``/``test``/``size`` change the toy counts where a test needs others."""
    counts = {"image_size": (size, 64), "num_per_class.train": (train, 12), "num_per_class.test": (test, 6)}
    return [
        "debug=tiny",
        f"paths.data_dir={tmp}/data",
        f"paths.cache={tmp}/cache.zarr",
        f"tracking.uri=sqlite:///{tmp}/mlflow.db",
        *[f"dataset.{key}={value}" for key, (value, tiny) in counts.items() if value != tiny],
        *([f"classifier={classifier}"] if classifier != "rf" else []),
    ]


def compose_cfg(overrides: list[str], config_name: str = "config") -> DictConfig:
    """The config the command line would compose for ``overrides``."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=overrides)


def start_cli(args: list[str], cwd: Path) -> subprocess.Popen:
    """``python -m jpegai_fd args`` in the background, in its own session (signals reach its group only
    when the test sends them), output piped as text."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.Popen(
        [sys.executable, "-m", "jpegai_fd", *args],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def run_cli(module: str, args: list[str], cwd: Path, timeout: float = 600, env: dict | None = None, wrap=None):
    """Run ``python -m module args`` as a user would; returns the CompletedProcess (text output).

    ``wrap``: a function of the argv returning the argv to run (e.g. one from ``readonly_fs``)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [sys.executable, "-m", module, *args]
    return subprocess.run(
        wrap(cmd) if wrap else cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env
    )


# ---- the stages from a composed config, as the command line builds them (the old cfg-taking helpers)
def job_inputs(cfg: DictConfig):
    """(settings, components) of a composed config: what ``python -m jpegai_fd`` hands ``run_job``."""
    from jpegai_fd import components, config

    return config.settings(cfg), components.build(cfg)


def train(cfg: DictConfig) -> dict[str, float]:
    """Run the job of ``cfg`` in-process, as the command line does (without Hydra's output folder)."""
    from jpegai_fd.job import run_job

    return run_job(*job_inputs(cfg))


def train_in(cfg: DictConfig, out: Path) -> dict:
    """Run the job of ``cfg`` in-process with ``out`` as its output folder (as ``hydra.run.dir=out``: results.json,
    artifacts/, tracking.json); returns its results.json."""
    import json

    from jpegai_fd.job import run_job
    from jpegai_fd.tracking.settings import JobPlace

    out.mkdir(parents=True, exist_ok=True)
    run_job(*job_inputs(cfg), JobPlace(output_dir=out))
    return json.loads((out / "results.json").read_text())


def preflight(argv: list[str]) -> None:
    """The checks the command line makes before any work: every job of ``argv`` (``-m``: a sweep)."""
    from jpegai_fd import config

    multirun = "-m" in argv or "--multirun" in argv
    overrides = [a for a in argv if not a.startswith("-")]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        try:
            if multirun:
                fixed = [o for o in overrides if len(config.expand([o])) == 1]
                primary = compose(config_name="config", overrides=fixed, return_hydra_config=True)
                config.check_jobs("config", overrides, primary.hydra.sweeper.params)
            else:
                config.check_job(compose(config_name="config", overrides=overrides))
        except Exception as exc:
            error = config.one_line(exc, overrides)
            if error is None or error is exc:
                raise
            raise error from exc


def build_group(cfg: DictConfig, group: str):
    from jpegai_fd import components

    return components.build_group(cfg, group)


def build_encoder(cfg: DictConfig):
    """The encoder of ``cfg``, its rate checked and its installation prepared."""
    encoder = build_group(cfg, "encoder")
    if hasattr(encoder, "check_rate"):
        encoder.check_rate(int(cfg.bpp))
    if hasattr(encoder, "prepare"):
        encoder.prepare()
    return encoder


def load_splits(cfg: DictConfig, dataset=None):
    """(train, test) splits of ``cfg.dataset``."""
    dataset = dataset or build_group(cfg, "dataset")
    return dataset.load_split("train", int(cfg.seed)), dataset.load_split("test", int(cfg.seed))


def load_valid_split(cfg: DictConfig, dataset=None):
    return (dataset or build_group(cfg, "dataset")).load_valid_split(int(cfg.seed))


def cached_latents(cfg: DictConfig, split, encoder, dataset=None):
    """(group, stats) of ``split`` at ``cfg.bpp`` in ``cfg.paths.cache``, extracting what is missing."""
    from jpegai_fd import config
    from jpegai_fd.cache.extraction import Latents

    dataset = dataset or build_group(cfg, "dataset")
    s = config.settings(cfg)
    return Latents(s.cache, encoder, s.extract)(split, s.grid.bpp, dataset.reader, dataset.max_bad_fraction)


def build_features(cfg: DictConfig, group, train: bool, rows=None, parts=None):
    """The samples of a cached split for ``cfg.preprocess``, ``cfg.component`` and ``cfg.latent``."""
    from jpegai_fd.features import feature_set

    preprocess = parts.preprocess if parts else build_group(cfg, "preprocess")
    classifier = parts.classifier if parts else build_group(cfg, "classifier")
    stream = bool(getattr(classifier, "stream_from_cache", False))
    return feature_set(group, preprocess, cfg.component, cfg.latent, train, rows, stream=stream)


def preflight_cfg(cfg: DictConfig) -> None:
    """Every check of one composed job (settings, components, the rules between them)."""
    from jpegai_fd import config

    config.check_job(cfg)
