"""Cheap checks on a split's listing before any decoding: paths inside the root, files present.

A listed path is skipped (never read, never cached) when it leaves the dataset root: an absolute
path, ``../`` segments, or a symlink anywhere along the path that points outside; or when the file
is missing, not a regular file or empty. Everything else is left to the decoder (``images.py``).
Screening runs after balanced sampling, so it costs one ``stat`` per sampled image.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from jpegai_fd.datasets.split import DatasetSplit, Skipped


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_path(root: Path, root_real: Path, path: Path) -> tuple[Path | None, str | None]:
    """(real path to read, None) when ``path`` is a safe, non-empty file under ``root``, else (None, reason)."""
    lexical = os.path.normpath(path)
    if not _inside(lexical, os.path.normpath(root)):
        return None, "path leaves the dataset root (absolute or '..')"
    real = os.path.realpath(lexical)  # resolves every symlink along the way
    if not _inside(real, str(root_real)):
        return None, f"symlink points outside the dataset root (to '{real}')"
    try:
        info = os.stat(real)
    except FileNotFoundError:
        return None, "missing file"
    except OSError as exc:
        return None, f"cannot stat: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return None, "not a regular file"
    if info.st_size == 0:
        return None, "empty file"
    return Path(real), None


def _shown(path: Path, root: Path) -> str:
    lexical = os.path.normpath(path)
    return os.path.relpath(lexical, root) if _inside(lexical, os.path.normpath(root)) else str(path)


def screen(split: DatasetSplit) -> DatasetSplit:
    """``split`` without the images whose path fails :func:`check_path`; those go to ``skipped``."""
    root = Path(os.path.abspath(split.root))
    root_real = Path(os.path.realpath(root))
    keep, paths, skipped = [], [], list(split.skipped)
    for i, (image_id, path, label) in enumerate(zip(split.ids, split.paths, split.labels)):
        real, reason = check_path(root, root_real, Path(os.path.abspath(path)))
        if reason is None:
            keep.append(i)
            paths.append(real)
        else:
            skipped.append(Skipped(str(image_id), _shown(path, root), int(label), reason))
    index = np.array(keep, dtype=np.int64)
    return DatasetSplit(
        split.dataset, split.name, split.ids[index], tuple(paths), split.labels[index], root_real, tuple(skipped)
    )
