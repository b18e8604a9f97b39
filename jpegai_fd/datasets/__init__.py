"""Datasets: which images train and test a job, read through one loader for every layout.

Layouts: the Kaggle "140k Real and Fake Faces" CSVs (``dataset=faces140k``, and the generated demo
``dataset=synthetic`` in the same layout) and a folder per class (``dataset=folder``). Every split is
balanced-sampled, then screened (paths outside the root, missing or empty files are skipped with a
reason); images are decoded by :class:`ImageReader` during extraction.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig

from jpegai_fd.datasets import synthetic
from jpegai_fd.datasets.bad_images import DEFAULT_MAX_BAD_FRACTION, check_bad_fraction
from jpegai_fd.datasets.folder import read_folder_split
from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.datasets.kaggle_csv import read_split
from jpegai_fd.datasets.manifest import FileHashes, manifest_csv, manifest_hash
from jpegai_fd.datasets.screen import screen
from jpegai_fd.datasets.split import DatasetSplit, Skipped, sample_balanced
from jpegai_fd.errors import UserError
from jpegai_fd.progress import Progress

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
    progress = Progress("generate demo data", total, "img", log)
    synthetic.generate(root, ds.seed, ds.image_size, ds.num_per_class, on_image=progress.update)


def image_reader(cfg: DictConfig) -> ImageReader:
    """The reader of ``cfg.dataset`` (nominal size and ``size_policy``, default keep)."""
    return ImageReader(int(cfg.dataset.image_size), str(cfg.dataset.get("size_policy", "keep")))


def max_bad_fraction(cfg: DictConfig) -> float | None:
    value = cfg.dataset.get("max_bad_fraction", DEFAULT_MAX_BAD_FRACTION)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1):
        raise UserError(f"invalid value for 'dataset.max_bad_fraction': {value!r}; use a number in [0, 1] or null")
    return value


def read_listing(cfg: DictConfig, split: str) -> DatasetSplit:
    """Split ``split`` of ``cfg.dataset`` as listed (paths not yet screened)."""
    ds = cfg.dataset
    if ds.name == "folder":
        return read_folder_split(ds, split, int(ds.get("seed", cfg.seed)))
    return read_split(Path(ds.root), split, ds.name)


def load_splits(cfg: DictConfig) -> tuple[DatasetSplit, DatasetSplit]:
    """The (train, test) splits of ``cfg.dataset``, balanced-subsampled as configured, then screened.

    Raises UserError when the screening alone already skips more than ``dataset.max_bad_fraction``.
    """
    ds = cfg.dataset
    image_reader(cfg)  # a bad size_policy fails here, before any work
    limit = max_bad_fraction(cfg)
    if ds.name == "synthetic":
        _ensure_synthetic(ds)
    out = []
    for split, num, seed, key in ((ds.train_split, ds.num_train, cfg.seed, "dataset.num_train"),
                                  (ds.test_split, ds.num_test, cfg.seed + 1, "dataset.num_test")):
        listed = sample_balanced(read_listing(cfg, split), num, seed, key)
        screened = screen(listed)
        for s in screened.skipped:
            log.warning("dataset %s/%s: skipping '%s': %s", ds.name, split, s.path, s.reason)
        check_bad_fraction(screened, [], limit)
        out.append(screened)
    return out[0], out[1]


def hash_memo(cfg: DictConfig) -> FileHashes:
    """The content-hash memo beside the latent cache (``<paths.cache>.hashes.sqlite``)."""
    cache = Path(cfg.paths.cache)
    return FileHashes(cache.with_name(cache.name + ".hashes.sqlite"))


def log_dataset_manifest(run, splits_and_groups, cfg: DictConfig) -> None:
    """Log ``dataset/<split>_manifest.csv`` (every image with status and reason) with ``run``."""
    memo = hash_memo(cfg)
    for split, group in splits_and_groups:
        run.log_text(manifest_csv(split, group, memo), f"dataset/{split.name}_manifest.csv")


__all__ = ["DatasetSplit", "FileHashes", "ImageReader", "Skipped", "check_bad_fraction", "hash_memo", "image_reader",
           "load_splits", "log_dataset_manifest", "manifest_hash", "max_bad_fraction", "read_listing", "read_split",
           "sample_balanced", "screen"]
