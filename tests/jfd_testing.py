"""Shared helpers for the tests: tiny configs, the config composer, the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

REPO = Path(__file__).resolve().parent.parent
CONF_DIR = REPO / "conf"


SMALL_CLASSIFIER = {
    "rf": ["classifier.estimator.n_estimators=20", "classifier.search_space.n_estimators.high=60"],
    "hgb": ["classifier=hgb", "classifier.estimator.max_iter=20", "classifier.search_space.max_iter.low=10", "classifier.search_space.max_iter.high=40"],
}


def tiny_overrides(tmp: Path, train: int = 12, test: int = 6, size: int = 64, classifier: str = "rf") -> list[str]:
    """Overrides that keep a job to seconds: small 64x64 images, few trials, all files under ``tmp``."""
    return [
        f"paths.data_dir={tmp}/data",
        f"paths.cache={tmp}/cache.zarr",
        f"tracking.uri=sqlite:///{tmp}/mlflow.db",
        f"dataset.image_size={size}",
        f"dataset.num_per_class.train={train}",
        "dataset.num_per_class.valid=2",
        f"dataset.num_per_class.test={test}",
        "tuning.n_trials=2",
        "tuning.cv_folds=2",
        *SMALL_CLASSIFIER[classifier],
        "extract.chunk_size=8",
        "n_jobs=1",
    ]


def compose_cfg(overrides: list[str], config_name: str = "config") -> DictConfig:
    """The config the command line would compose for ``overrides``."""
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=overrides)


def run_cli(module: str, args: list[str], cwd: Path, timeout: float = 600, env: dict | None = None, wrap=None):
    """Run ``python -m module args`` as a user would; returns the CompletedProcess (text output).

    ``wrap``: a function of the argv returning the argv to run (e.g. one from ``readonly_fs``)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [sys.executable, "-m", module, *args]
    return subprocess.run(wrap(cmd) if wrap else cmd, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=full_env)
