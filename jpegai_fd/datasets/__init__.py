"""Datasets (``conf/dataset/``): ``faces140k``, ``synthetic``, ``folder``; a new layout subclasses ImageDataset."""

from jpegai_fd.datasets.base import ImageDataset
from jpegai_fd.datasets.folder import FolderDataset
from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.datasets.kaggle_csv import KaggleCSVDataset, read_split
from jpegai_fd.datasets.manifest import hash_memo, manifest_hash
from jpegai_fd.datasets.split import DatasetSplit, check_bad_fraction, sample_balanced, screen
from jpegai_fd.datasets.synthetic import SyntheticFaces

__all__ = ["DatasetSplit", "FolderDataset", "ImageDataset", "ImageReader", "KaggleCSVDataset", "SyntheticFaces"]
__all__ += ["check_bad_fraction", "hash_memo", "manifest_hash", "read_split", "sample_balanced", "screen"]
