"""``dataset=synthetic``: a generated stand-in for "140k Real and Fake Faces" in its Kaggle layout,
for offline demos and tests (pixels: :mod:`jpegai_fd.datasets.generators`)."""

import csv
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from jpegai_fd.datasets.generators import GENERATOR_VERSION, GENERATORS, LEGACY, make_image
from jpegai_fd.datasets.kaggle_csv import COLUMNS, IMAGE_SUBDIR, KaggleCSVDataset
from jpegai_fd.errors import UserError, check_int
from jpegai_fd.progress import progress

log = logging.getLogger(__name__)
SPLITS = ("train", "valid", "test")


def settings(generator: str, seed: int, size: int, num_per_class: dict) -> dict:
    """What made a generated dataset (its ``GENERATOR.json``): a root made otherwise is refused."""
    per_class = {k: int(v) for k, v in num_per_class.items()}
    return dict(
        generator_version=GENERATOR_VERSION, generator=generator, seed=seed, image_size=size, num_per_class=per_class
    )


def generate(
    root: Path,
    seed: int,
    size: int,
    num_per_class: dict,
    on_image: Callable[[], None] = lambda: None,
    generator: str = LEGACY,
) -> None:
    """Write the dataset to ``root`` in the Kaggle layout, atomically; ``on_image()`` after each image."""
    root = Path(root)
    tmp = root.with_name(f"{root.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    counter = 0
    for split in SPLITS:
        rows = []
        for label, label_str in ((1, "real"), (0, "fake")):
            folder = tmp / IMAGE_SUBDIR / split / label_str
            folder.mkdir(parents=True, exist_ok=True)
            for _ in range(int(num_per_class[split])):
                counter += 1
                stem = f"{counter:06d}"
                pixels, quality = make_image(label, seed, counter, size, generator)
                Image.fromarray(pixels).save(folder / f"{stem}.jpg", quality=quality)
                on_image()
                path = f"{split}/{label_str}/{stem}.jpg"
                rows.append((stem, f"synthetic/{label_str}/{stem}.png", label, label_str, path))
        with (tmp / f"{split}.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows([COLUMNS, *rows])
    (tmp / "GENERATOR.json").write_text(json.dumps(settings(generator, seed, size, num_per_class), indent=2))
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(root)
    except OSError:  # another process finished first: its copy is identical, keep it
        shutil.rmtree(tmp, ignore_errors=True)


class SyntheticFaces(KaggleCSVDataset):
    """Generated on first use into ``root`` (``num_per_class`` per class and split, from ``seed``), read as Kaggle's."""

    def __init__(self, *, seed: int, num_per_class: dict, generator: str = LEGACY, **keys):
        super().__init__(**keys)
        if generator != LEGACY and generator not in GENERATORS:
            raise UserError(
                f"invalid value for 'dataset.generator': {generator!r}; allowed values: "
                f"{', '.join([LEGACY, *GENERATORS])}"
            )
        if generator != LEGACY and self.image_size % 2:
            raise UserError(
                f"invalid value for 'dataset.image_size': {self.image_size}; dataset.generator={generator} needs an even size"
            )
        for split, n in num_per_class.items():
            check_int(f"dataset.num_per_class.{split}", n, 1)
        self.generator, self.seed, self.num_per_class = generator, int(seed), dict(num_per_class)

    def prepare(self) -> None:
        root = self.root
        if (root / "GENERATOR.json").is_file():
            found = json.loads((root / "GENERATOR.json").read_text())
            if found != settings(self.generator, self.seed, self.image_size, self.num_per_class):
                raise UserError(
                    f"dataset.root '{root}' holds a demo dataset made with other settings ({found}); "
                    f"point dataset.root at an empty folder or delete it"
                )
            return
        if root.exists() and any(root.iterdir()):
            raise UserError(
                f"dataset.root '{root}' is not empty and not a generated demo dataset; "
                f"point dataset.root at an empty or missing folder"
            )
        total = 2 * sum(self.num_per_class.values())
        log.info("generating the demo dataset (%d images) in %s", total, root)
        with progress("generate demo data", total, "img", log) as bar:
            generate(root, self.seed, self.image_size, self.num_per_class, bar.update, self.generator)
