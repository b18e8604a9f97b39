"""The "140k Real and Fake Faces" layout (Kaggle, xhlulu): ``root/<split>.csv`` rows ``id,...,label,...,path``,
paths relative to ``root/real_vs_fake/real-vs-fake/``; the generated demo uses it too."""

import csv
from pathlib import Path

import numpy as np

from jpegai_fd.datasets.base import ImageDataset
from jpegai_fd.datasets.split import DatasetSplit
from jpegai_fd.errors import UserError

COLUMNS = ("id", "original_path", "label", "label_str", "path")
IMAGE_SUBDIR = Path("real_vs_fake") / "real-vs-fake"
LAYOUT = "train.csv, valid.csv, test.csv and real_vs_fake/real-vs-fake/{train,valid,test}/{real,fake}/"


def read_split(root: Path, split: str, dataset: str = "faces140k") -> DatasetSplit:
    """``root/<split>.csv`` as a DatasetSplit in file order; UserError for a bad root, CSV, label or id."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"dataset.root '{root}' does not exist; it must hold {LAYOUT} (set dataset.root=...)")
    csv_path = root / f"{split}.csv"
    if not csv_path.is_file():
        raise UserError(f"missing '{csv_path}'; dataset.root must hold {LAYOUT}")
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if missing := [c for c in ("id", "label", "path") if c not in (reader.fieldnames or [])]:
            raise UserError(f"'{csv_path}' lacks column(s) {', '.join(missing)}; expected header {','.join(COLUMNS)}")
        rows = list(reader)
    seen: dict[str, int] = {}  # id -> line, in file order
    for line, row in enumerate(rows, start=2):
        if row["label"] not in ("0", "1"):
            raise UserError(f"'{csv_path}' line {line}: label {row['label']!r} must be 1 (real) or 0 (fake)")
        if row["id"] in seen:
            raise UserError(
                f"'{csv_path}': duplicate id {row['id']!r} on lines {seen[row['id']]} and {line}; ids must be unique"
            )
        seen[row["id"]] = line
    paths, labels = tuple(root / IMAGE_SUBDIR / r["path"] for r in rows), [int(r["label"]) for r in rows]
    return DatasetSplit(dataset, split, np.array(list(seen), dtype=str), paths, np.array(labels, dtype=np.int8), root)


class KaggleCSVDataset(ImageDataset):
    """``dataset=faces140k``: the CSV layout above."""

    def listing(self, split: str) -> DatasetSplit:
        return read_split(self.root, split, self.name)
