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


def run_cli(module: str, args: list[str], cwd: Path, timeout: float = 600, env: dict | None = None, wrap=None):
    """Run ``python -m module args`` as a user would; returns the CompletedProcess (text output).

    ``wrap``: a function of the argv returning the argv to run (e.g. one from ``readonly_fs``)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [sys.executable, "-m", module, *args]
    return subprocess.run(
        wrap(cmd) if wrap else cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env
    )
