"""Datasets: which images train and test a job, one loader for every layout (``conf/dataset/``).

Layouts: the Kaggle "140k Real and Fake Faces" CSVs (``faces140k``), the generated demo in that
layout (``synthetic``) and a folder per class (``folder``); a new one subclasses :class:`ImageDataset`.
Every split is balanced-sampled, then screened; :class:`ImageReader` decodes during extraction.
"""

from __future__ import annotations

from jpegai_fd.datasets.base import ImageDataset
from jpegai_fd.datasets.folder import FolderDataset
from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.datasets.kaggle_csv import KaggleCSVDataset, read_split
from jpegai_fd.datasets.manifest import hash_memo, manifest_hash
from jpegai_fd.datasets.split import DatasetSplit, check_bad_fraction, sample_balanced, screen
from jpegai_fd.datasets.synthetic import SyntheticFaces

__all__ = ["DatasetSplit", "FolderDataset", "ImageDataset", "ImageReader", "KaggleCSVDataset", "SyntheticFaces"]
__all__ += ["check_bad_fraction", "hash_memo", "manifest_hash", "read_split", "sample_balanced", "screen"]
