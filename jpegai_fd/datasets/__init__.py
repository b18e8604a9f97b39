"""Datasets: which images train and test a job, read through one loader for every layout."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig

from jpegai_fd.datasets.kaggle_csv import read_split
from jpegai_fd.datasets.split import DatasetSplit, sample_balanced
from jpegai_fd.datasets import synthetic
from jpegai_fd.errors import UserError

log = logging.getLogger(__name__)


def _ensure_synthetic(ds: DictConfig) -> None:
    root = Path(ds.root)
    wanted = {"generator_version": synthetic.GENERATOR_VERSION, "seed": ds.seed, "image_size": ds.image_size,
              "num_per_class": {k: int(v) for k, v in ds.num_per_class.items()}}
    meta_file = root / "GENERATOR.json"
    if meta_file.is_file():
        found = json.loads(meta_file.read_text())
        if found != wanted:
            raise UserError(f"dataset.root '{root}' holds a demo dataset made with other settings ({found}); "
                            f"point dataset.root at an empty folder or delete it")
        return
    if root.exists() and any(root.iterdir()):
        raise UserError(f"dataset.root '{root}' is not empty and not a generated demo dataset; "
                        f"point dataset.root at an empty or missing folder")
    total = 2 * sum(int(v) for v in ds.num_per_class.values())
    log.info("generating the demo dataset (%d images) in %s", total, root)
    synthetic.generate(root, ds.seed, ds.image_size, ds.num_per_class)


def load_splits(cfg: DictConfig) -> tuple[DatasetSplit, DatasetSplit]:
    """The (train, test) splits of ``cfg.dataset``, balanced-subsampled as configured."""
    ds = cfg.dataset
    if ds.name == "synthetic":
        _ensure_synthetic(ds)
    root = Path(ds.root)
    train = read_split(root, ds.train_split, ds.name)
    test = read_split(root, ds.test_split, ds.name)
    train = sample_balanced(train, ds.num_train, cfg.seed, "dataset.num_train")
    test = sample_balanced(test, ds.num_test, cfg.seed + 1, "dataset.num_test")
    return train, test


__all__ = ["DatasetSplit", "load_splits", "read_split", "sample_balanced"]
