"""What a job evaluates beyond its test split, checked before any work (cheap: every job of a sweep):
``eval.<name>`` extra sets, ``robustness.conditions.<name>`` perturbations, ``eval_bpp`` other rates."""

import logging
import re
from dataclasses import dataclass, field, replace

import numpy as np

from jpegai_fd.datasets import FolderDataset, ImageDataset, check_bad_fraction, sample_balanced, screen
from jpegai_fd.datasets.split import LABEL_NAMES, DatasetSplit
from jpegai_fd.errors import UserError
from jpegai_fd.perturb import Perturbation

log = logging.getLogger(__name__)
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
BPP_RANGE = (1, 200)


@dataclass(frozen=True)
class ExtraPlan:
    """``sets``: name -> dataset; ``conditions``: name -> perturbation; ``rates``: other bpp values."""

    sets: dict[str, ImageDataset] = field(default_factory=dict)
    conditions: dict[str, Perturbation] = field(default_factory=dict)
    rates: tuple[int, ...] = ()
    sources: dict[str, ImageDataset] = field(default_factory=dict)  # train_extra: trained on, test split scored

    @property
    def empty(self) -> bool:
        return not (self.sets or self.conditions or self.rates or self.sources)


def check_set_name(name: str, node, key: str = "eval") -> None:
    if not NAME.match(str(name)):
        raise UserError(f"invalid set name '{key}.{name}'; use letters, digits, '_', '.' or '-'")
    if not hasattr(node, "keys") or "_target_" not in node:
        raise UserError(
            f"'{key}.{name}' is not a dataset; compose one with '+dataset@{key}.{name}=<layout>' "
            f"(folder, synthetic, faces140k) and set its keys as {key}.{name}.root=..."
        )


def check_set(name: str, dataset, image_size: int, key: str = "eval") -> ImageDataset:
    where = f"{key}.{name}"
    if not isinstance(dataset, ImageDataset):
        raise UserError(f"'{where}._target_' is not a dataset layout (jpegai_fd.datasets.ImageDataset)")
    if dataset.image_size != image_size:
        raise UserError(
            f"invalid value for '{where}.image_size': {dataset.image_size}; the model was trained on "
            f"dataset.image_size={image_size} images, so every set must have that size (set "
            f"{where}.image_size={image_size} and {where}.size_policy=resize or center_crop for other sizes)"
        )
    if type(dataset).prepare is ImageDataset.prepare and not dataset.root.is_dir():  # not generated on use
        raise UserError(
            f"invalid value for '{where}.root': '{dataset.root}' does not exist; set {where}.root=... "
            f"to the folder of the set"
        )
    return dataset


def check_rates(rates, bpp: int, encoder) -> tuple[int, ...]:
    """The ``eval_bpp`` entries other than ``bpp``, each an int in BPP_RANGE that ``encoder`` codes."""
    out = []
    for r in list(rates or []):
        if isinstance(r, bool) or not isinstance(r, int) or not BPP_RANGE[0] <= r <= BPP_RANGE[1]:
            raise UserError(
                f"invalid value for 'eval_bpp': {r!r}; each rate must be an integer between "
                f"{BPP_RANGE[0]} and {BPP_RANGE[1]} (target rate x 100, like bpp)"
            )
        if (check_rate := getattr(encoder, "check_rate", None)) is not None:
            try:
                check_rate(r)
            except UserError as exc:
                raise UserError(f"eval_bpp={r}: {exc}") from None
        if r != bpp and r not in out:
            out.append(r)
    return tuple(out)


def renamed(exc: UserError, where: str) -> UserError:
    """``exc`` naming ``<where>.<key>`` where a dataset's own message names ``dataset.<key>``."""
    return UserError(str(exc).replace("'dataset.", f"'{where}.").replace(" dataset.", f" {where}."))


def load_source(name: str, dataset: ImageDataset, kind: str, seed: int) -> DatasetSplit:
    """Split ``kind`` of source ``train_extra.<name>``, sampled like the job's dataset (one class allowed),
    named after the source (its cache groups, manifests and scores too)."""
    try:
        split = dataset.load_split(kind, seed, f"train_extra.{name}")
    except UserError as exc:
        raise renamed(exc, f"train_extra.{name}") from None
    return replace(split, dataset=name)


def load_test_split(name: str, dataset: ImageDataset, seed: int) -> DatasetSplit:
    """The extra set's ``test_split``, sampled and screened like a job's; a one-class set is allowed."""
    dataset.prepare()
    if getattr(dataset, "split_fractions", None) == FolderDataset.DEFAULT_FRACTIONS:  # not chosen for this set
        dataset.split_fractions = {dataset.test_split: 1.0}  # a set given for evaluation only is scored whole
    key = f"eval.{name}.num_test"
    listing = dataset.listing(dataset.test_split)
    if not len(listing):
        raise UserError(f"extra test set eval.{name} has no images in its split '{dataset.test_split}'")
    present = np.unique(listing.labels)
    num = dataset.num_test
    if len(present) == 1 and num is not None:
        if num > len(listing):
            msg = "'%s=%d' asks for %d images but eval.%s has only %d (%s only): using those"
            log.warning(msg, key, num, num, name, len(listing), LABEL_NAMES[int(present[0])])
        size = min(num, len(listing))
        chosen = listing.subset(np.sort(np.random.default_rng(seed).choice(len(listing), size=size, replace=False)))
    else:
        chosen = sample_balanced(listing, num, seed, key)
    screened = screen(chosen)
    for s in screened.skipped:
        log.warning("eval.%s (%s/%s): skipping '%s': %s", name, dataset.name, dataset.test_split, s.path, s.reason)
    try:
        check_bad_fraction(screened, [], dataset.max_bad_fraction)
    except UserError as exc:
        raise renamed(exc, f"eval.{name}") from None
    return screened
