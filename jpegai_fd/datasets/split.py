"""One dataset split in memory and the images it drops. Screening (one ``stat`` per sampled image) skips paths
that leave the root or are missing, not regular or empty; ``dataset.max_bad_fraction`` bounds skipped + unreadable."""

import logging
import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from jpegai_fd.errors import UserError

log = logging.getLogger(__name__)

LABEL_NAMES = {0: "fake", 1: "real"}  # the Kaggle convention: 1 = real, 0 = fake


@dataclass(frozen=True)
class Skipped:
    """An image of the split's listing that never reaches the encoder, and why."""

    id: str
    path: str
    label: int
    reason: str


@dataclass(frozen=True)
class DatasetSplit:
    """Images of one split in a fixed order: unique ``ids``, absolute ``paths``, ``labels`` (1 real, 0 fake),
    ``sources``: each image's source (generator, camera set; None: one source, named after the dataset)."""

    dataset: str
    name: str
    ids: np.ndarray
    paths: tuple[Path, ...]
    labels: np.ndarray
    root: Path | None = None
    skipped: tuple[Skipped, ...] = field(default=())
    sources: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index: np.ndarray) -> "DatasetSplit":
        """The images at positions ``index`` (in the given order); ``skipped`` is kept."""
        index = np.asarray(index, dtype=np.int64)
        sources = None if self.sources is None else self.sources[index]
        paths = tuple(self.paths[i] for i in index)
        return replace(self, ids=self.ids[index], paths=paths, labels=self.labels[index], sources=sources)

    def source_names(self, ids=None) -> np.ndarray:
        """The source of each image of ``ids`` (ids of this split; None: every image, in order)."""
        names = np.full(len(self), self.dataset, object) if self.sources is None else self.sources.astype(object)
        if ids is None:
            return names
        by_id = dict(zip(self.ids.tolist(), names))
        return np.array([by_id[str(i)] for i in ids], dtype=object)


def sample_balanced(split: DatasetSplit, num: int | None, seed: int, key: str) -> DatasetSplit:
    """``num // 2`` fakes and the rest real (None: all), in the split's order: same (num, seed), same images."""
    if num is None:
        return split
    rng = np.random.default_rng(seed)
    pools, wants = [np.flatnonzero(split.labels == label) for label in (0, 1)], (num // 2, num - num // 2)
    short = [f"{len(p)} {LABEL_NAMES[k]}" for k, (p, w) in enumerate(zip(pools, wants)) if len(p) < w]
    if short:  # a smaller copy of a dataset: its defaults still run
        msg = "'%s=%d' asks for more images than split '%s' has (%s): using all of those"
        log.warning(msg, key, num, split.name, " and ".join(short))
    chosen = [rng.choice(p, size=min(w, len(p)), replace=False) for p, w in zip(pools, wants)]
    return split.subset(np.sort(np.concatenate(chosen)))


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
    return (None, "empty file") if info.st_size == 0 else (Path(real), None)


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
            lexical = os.path.normpath(path)
            shown = os.path.relpath(lexical, root) if _inside(lexical, os.path.normpath(root)) else str(path)
            skipped.append(Skipped(str(image_id), shown, int(label), reason))
    return replace(split.subset(keep), paths=tuple(paths), root=root_real, skipped=tuple(skipped))


def check_bad_fraction(split: DatasetSplit, unreadable: list[tuple[str, str]], max_fraction: float | None) -> None:
    """UserError when skipped + ``unreadable`` exceed ``max_fraction`` of the listing (None: no limit)."""
    if max_fraction is None:
        return
    bad = [(s.path, s.reason) for s in split.skipped] + list(unreadable)
    total = len(split) + len(split.skipped)
    if total and len(bad) > max_fraction * total:
        path, reason = bad[0]
        raise UserError(
            f"{len(bad)} of {total} images of split '{split.name}' are bad (more than "
            f"dataset.max_bad_fraction={max_fraction}), e.g. '{path}': {reason}; fix the dataset "
            f"or raise dataset.max_bad_fraction (the log lists every bad image)"
        )
