"""What every dataset layout shares: a layout implements :meth:`~ImageDataset.listing`; its constructor only
checks the YAML keys, so every job of a sweep is built before any work."""

import logging
from pathlib import Path

from jpegai_fd.datasets.images import ImageReader
from jpegai_fd.datasets.split import DatasetSplit, check_bad_fraction, sample_balanced, screen
from jpegai_fd.errors import UserError, check_int

log = logging.getLogger(__name__)
SPLIT_SEEDS = {"train": 0, "test": 1, "valid": 2}  # each split sampled with the seed plus its own offset


class ImageDataset:
    """Images of one dataset (the ``dataset.*`` keys; valid chooses the threshold, never trained on)."""

    def __init__(
        self,
        *,
        name: str,
        root: str,
        image_size: int,
        train_split: str,
        test_split: str,
        num_train: int | None,
        num_test: int | None,
        size_policy: str,
        max_bad_fraction: float | None,
        valid_split: str | None = None,
        num_valid: int | None = None,
    ):
        check_int("dataset.image_size", image_size, 1)
        for key, num in (("num_train", num_train), ("num_valid", num_valid), ("num_test", num_test)):
            check_int(f"dataset.{key}", num, 2, nullable=True, hint=" (balanced: half per class)")
        if not isinstance(valid_split, str) or not valid_split:
            raise UserError(
                f"'dataset.valid_split' is missing or empty ({valid_split!r}); set it to the split that chooses "
                f"the decision threshold (e.g. valid), distinct from train and test"
            )
        if len({train_split, valid_split, test_split}) < 3:
            raise UserError(
                f"dataset.train_split, dataset.valid_split and dataset.test_split must be three different splits; "
                f"got {train_split!r}, {valid_split!r}, {test_split!r}"
            )
        self.name, self.root, self.image_size = name, Path(root), image_size
        self.train_split, self.valid_split, self.test_split = train_split, valid_split, test_split
        self.num_train, self.num_valid, self.num_test = num_train, num_valid, num_test
        self.reader = ImageReader(self.image_size, size_policy)  # a bad size_policy fails here, before any work
        bad = max_bad_fraction
        if bad is not None and (isinstance(bad, bool) or not isinstance(bad, (int, float)) or not 0 <= bad <= 1):
            raise UserError(f"invalid value for 'dataset.max_bad_fraction': {bad!r}; use a number in [0, 1] or null")
        self.max_bad_fraction = max_bad_fraction

    def listing(self, split: str) -> DatasetSplit:
        """The split as listed (paths not yet screened); UserError when the layout is wrong."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Work needed before the listing can be read (the synthetic demo generates its images)."""

    def load_split(self, kind: str, seed: int, key: str = "dataset") -> DatasetSplit:
        """Split ``kind`` (train, valid or test), balanced-subsampled with ``seed`` plus its offset, then screened."""
        self.prepare()
        name, num = getattr(self, f"{kind}_split"), getattr(self, f"num_{kind}")
        return self._load(name, num, seed + SPLIT_SEEDS[kind], f"{key}.num_{kind}")

    def load_valid_split(self, seed: int) -> DatasetSplit:
        """The validation split; UserError without real and fake images (it chooses the threshold)."""
        valid = self.load_split("valid", seed)
        if len(set(valid.labels.tolist())) < 2:
            raise UserError(
                f"the validation split {self.valid_split!r} of dataset {self.name} has {len(valid)} image(s) and "
                f"needs real and fake ones (it chooses the threshold); add images or set dataset.valid_split"
            )
        return valid

    def _load(self, split: str, num: int | None, split_seed: int, key: str) -> DatasetSplit:
        screened = screen(sample_balanced(self.listing(split), num, split_seed, key))
        for s in screened.skipped:
            log.warning("dataset %s/%s: skipping '%s': %s", self.name, split, s.path, s.reason)
        check_bad_fraction(screened, [], self.max_bad_fraction)
        return screened
