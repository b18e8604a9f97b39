"""``dataset=folder``: ``root/<class folder>/...``, one sub-folder per class, each of its sub-folders a source; ids are
paths relative to the root; a generated split ranks by a hash of (seed, id) (docs/how-to/own-dataset.md)."""

import hashlib
import os
from pathlib import Path

import numpy as np

from jpegai_fd.datasets.base import ImageDataset
from jpegai_fd.datasets.split import DatasetSplit, Skipped
from jpegai_fd.errors import UserError


def _layout(classes: dict[int, str | None]) -> str:
    named = [f"{classes[k]}/ for {word}" for k, word in ((1, "real"), (0, "fake")) if classes.get(k) is not None]
    return f"one sub-folder per class ({', '.join(named)})"


def _split(dataset: str, name: str, root: Path, ids: list[str], labels: list[int], skipped=()) -> DatasetSplit:
    """Source of an image: the first sub-folder of its class folder (``fake/sd21/x.png``: sd21), else the dataset."""
    paths, parts = tuple(root / i for i in ids), [i.replace("\\", "/").split("/") for i in ids]
    sources = np.array([p[1] if len(p) > 2 else dataset for p in parts], dtype=object)
    ids, labels = np.array(ids, dtype=str), np.array(labels, np.int8)
    return DatasetSplit(dataset, name, ids, paths, labels, root, tuple(skipped), sources)


def list_images(root: Path, classes: dict[int, str | None]) -> list[tuple[str, int]]:
    """(id, label) of every non-hidden file under each class folder, sorted by id (a None folder: absent)."""
    found = []
    for label, top in ((label, root / folder) for label, folder in classes.items() if folder is not None):
        if not top.is_dir():
            raise UserError(
                f"missing class folder '{top}'; dataset.root must hold {_layout(classes)} "
                f"(folder names: dataset.classes.real / dataset.classes.fake)"
            )
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            found.extend((f"{rel_dir}/{name}", label) for name in filenames if not name.startswith("."))
    return sorted(found)


def read_split_file(root: Path, file: str, classes: dict[int, str], dataset: str, split: str) -> DatasetSplit:
    """The images listed in a split file; lines outside a class folder go to ``skipped``."""
    path = root / file
    if not path.is_file():
        raise UserError(
            f"missing split file '{path}' (dataset.split_files.{split}); list one image path per line, "
            f"relative to dataset.root, or unset it for a generated split"
        )
    by_folder = {name: label for label, name in classes.items() if name is not None}
    ids, labels, skipped, seen = [], [], [], {}
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        listed = line.strip()
        if not listed or listed.startswith("#"):
            continue
        if listed in seen:
            raise UserError(
                f"'{path}': duplicate entry {listed!r} on lines {seen[listed]} and {line_no}; ids must be unique"
            )
        seen[listed] = line_no
        if (label := by_folder.get(listed.replace("\\", "/").split("/")[0])) is None:
            skipped.append(Skipped(listed, listed, -1, f"not inside a class folder ({', '.join(by_folder)})"))
            continue
        ids.append(listed)
        labels.append(label)
    return _split(dataset, split, root, ids, labels, skipped)


def stratified_split(
    images: list[tuple[str, int]], fractions: dict[str, float], seed: int
) -> dict[str, list[tuple[str, int]]]:
    """Assign every (id, label) to a split: per class, rank by hash(seed, id), cut by ``fractions``."""
    names = list(fractions)
    total = sum(float(v) for v in fractions.values())
    out: dict[str, list[tuple[str, int]]] = {name: [] for name in names}
    for label in (0, 1):
        members = [i for i in images if i[1] == label]
        members.sort(key=lambda item: hashlib.blake2b(f"{seed}\0{item[0]}".encode(), digest_size=8).digest())
        bounds = np.rint(np.cumsum([float(fractions[n]) / total for n in names]) * len(members)).astype(int)
        for name, start, stop in zip(names, [0, *bounds[:-1]], bounds):
            out[name].extend(members[start:stop])
    return {name: sorted(items) for name, items in out.items()}


class FolderDataset(ImageDataset):
    """``classes``: {real: folder, fake: folder}; ``split_files``/``split_fractions``: {split: file/share}."""

    DEFAULT_FRACTIONS = {"train": 0.7, "valid": 0.1, "test": 0.2}  # conf/dataset/folder.yaml's

    def __init__(self, *, seed: int, classes: dict, split_files: dict, split_fractions: dict, **keys):
        super().__init__(**keys)
        self.seed = int(seed)
        # label (1 = real) -> folder; None: a one-class set (a test set of new fakes or real photos)
        real, fake = classes.get("real"), classes.get("fake")
        self.classes = {k: None if v is None else str(v) for k, v in ((1, real), (0, fake))}
        if all(v is None for v in self.classes.values()):
            raise UserError("dataset.classes.real and dataset.classes.fake are both null; name at least one folder")
        for split, value in split_fractions.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise UserError(
                    f"invalid value for 'dataset.split_fractions.{split}': {value!r}; use a number >= 0 "
                    f"(the fractions are normalised by their sum)"
                )
        if split_fractions and sum(split_fractions.values()) <= 0:
            raise UserError(
                f"invalid value for 'dataset.split_fractions': {dict(split_fractions)}; at least one "
                f"fraction must be > 0"
            )
        self.split_files = dict(split_files or {})
        self.split_fractions = dict(split_fractions)

    def listing(self, split: str) -> DatasetSplit:
        root = self.root
        if not root.is_dir():
            raise UserError(
                f"dataset.root '{root}' does not exist; it must hold {_layout(self.classes)} (set dataset.root=...)"
            )
        if self.split_files.get(split):
            return read_split_file(root, str(self.split_files[split]), self.classes, self.name, split)
        if split not in self.split_fractions:
            raise UserError(
                f"split {split!r} is neither in dataset.split_files nor in dataset.split_fractions "
                f"({', '.join(self.split_fractions)}); add it to one of them"
            )
        chosen = stratified_split(list_images(root, self.classes), self.split_fractions, self.seed)[split]
        return _split(self.name, split, root, [i for i, _ in chosen], [label for _, label in chosen])
