"""A generated stand-in for "140k Real and Fake Faces", for offline demos and tests.

Both classes draw their content from one procedural face model (head, hair, eyes, mouth, lighting,
texture), so content, size and file format (JPEG, random quality) do not separate them. They differ
only in how the pixels came to be:

* real: rendered at full resolution through a camera model: slight lens blur, Bayer RGGB mosaic,
  signal-dependent sensor noise, bilinear demosaicing;
* fake: made by one generator "network" per dataset seed (fixed weights, so its traces repeat from
  image to image, as a GAN's fingerprint does): rendered at half resolution and upsampled by a
  stride-2 transposed convolution whose kernel is slightly uneven (the periodic "checkerboard"
  traces of learned upsampling, period 2 px), times the periodic gain pattern an earlier upsampling
  stage leaves (period 16 px), sharpened, plus spatially correlated noise injection as in StyleGAN.

Why the 16-px pattern (generator version 2): at 0.06-0.12 bpp the encoder's quantiser keeps little
but each 16x16 block's lowest frequencies, which erased the version-1 traces from ``y_hat`` (the
README's main command scored 0.52-0.68). A trace at the latent grid's own period lands on those
lowest frequencies. It is deliberately strong (a faint grid is visible on flat areas of the fakes):
the demo proves the plumbing and shows a rate effect; it is no evidence about real faces.

Trace strengths are random per image so that the classes overlap: learnable, not trivial.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from collections.abc import Callable

import logging

import numpy as np
from PIL import Image
from scipy import ndimage

from jpegai_fd.datasets.kaggle_csv import COLUMNS, IMAGE_SUBDIR, KaggleCSVDataset
from jpegai_fd.errors import UserError
from jpegai_fd.progress import progress

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
GENERATOR_VERSION = 2  # 2: one fixed generator per seed, traces of its earlier upsampling stages
TRACE_PERIODS = (16,)  # output pixels: the stage at 1/8 of the output size (16 = the latent grid's stride)
MAX_STAGE_GAIN = 0.12  # peak relative gain of that pattern (per image: 0.5 to 1 times this)
LEGACY = "legacy"  # dataset.generator of this module's own generator (the demo's default since version 2)
SKIN = np.array([[0.96, 0.80, 0.69], [0.88, 0.67, 0.52], [0.76, 0.55, 0.40], [0.55, 0.38, 0.26], [0.40, 0.27, 0.18]])


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1] of shape (size, size): random cells, cubic upsampling."""
    coarse = rng.uniform(-1, 1, (cells, cells))
    return ndimage.zoom(coarse, size / cells, order=3, mode="nearest")[:size, :size]


def _ellipse(x, y, cx, cy, rx, ry, soft):
    """Soft mask of an ellipse: 1 inside, 0 outside, a ramp ``soft`` wide (in radius units)."""
    r = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
    return np.clip((1 + soft - r) / (2 * soft), 0, 1)


def render_face(params: dict, size: int) -> np.ndarray:
    """Render the scene ``params`` (from :func:`draw_scene`) at ``size`` x ``size``: float RGB in [0, 1]."""
    coords = (np.arange(size) + 0.5) / size
    x, y = np.meshgrid(coords, coords)
    soft = 1.5 / (size * 0.3)
    img = params["bg"][None, None, :] * (1 + 0.25 * (params["bg_grad"] * (x - 0.5)))[..., None]
    img = img + 0.08 * np.asarray(params["bg_tex"])[..., None]
    layers = [
        (params["hair"], params["hair_color"]),
        (params["head"], params["skin"]),
        (params["eye_l"], params["iris"]),
        (params["eye_r"], params["iris"]),
        (params["mouth"], params["lip"]),
    ]
    for (cx, cy, rx, ry), color in layers:
        mask = _ellipse(x, y, cx, cy, rx, ry, soft)[..., None]
        img = img * (1 - mask) + mask * np.asarray(color)[None, None, :]
    light = 1 + params["light"] * ((x - 0.5) * params["light_dir"][0] + (y - 0.5) * params["light_dir"][1])
    return np.clip(img * light[..., None], 0, 1)


def draw_scene(rng: np.random.Generator, size: int) -> dict:
    """Random content parameters of one face; both classes use this same distribution."""
    cx, cy = 0.5 + rng.normal(0, 0.03), 0.53 + rng.normal(0, 0.03)
    rx, ry = rng.uniform(0.25, 0.32), rng.uniform(0.33, 0.40)
    eye_dx, eye_y = rng.uniform(0.09, 0.13), cy - ry * rng.uniform(0.15, 0.3)
    skin = SKIN[rng.integers(len(SKIN))] * rng.uniform(0.9, 1.1, 3)
    texture_cells = int(rng.integers(4, 12))
    return {
        "bg": rng.uniform(0.1, 0.9, 3),
        "bg_grad": rng.normal(0, 1),
        "bg_tex": _smooth_noise(rng, size, texture_cells),
        "hair": (cx, cy - ry * rng.uniform(0.2, 0.4), rx * rng.uniform(1.0, 1.2), ry * rng.uniform(0.8, 1.0)),
        "hair_color": rng.uniform(0.02, 0.5) * rng.uniform(0.7, 1.0, 3),
        "head": (cx, cy, rx, ry),
        "skin": np.clip(skin, 0, 1),
        "eye_l": (cx - eye_dx, eye_y, rng.uniform(0.025, 0.04), rng.uniform(0.012, 0.022)),
        "eye_r": (cx + eye_dx, eye_y, rng.uniform(0.025, 0.04), rng.uniform(0.012, 0.022)),
        "iris": rng.uniform(0.05, 0.45, 3),
        "mouth": (
            cx + rng.normal(0, 0.01),
            cy + ry * rng.uniform(0.45, 0.6),
            rng.uniform(0.06, 0.1),
            rng.uniform(0.015, 0.03),
        ),
        "lip": np.clip(skin * np.array([1.0, 0.6, 0.6]), 0, 1),
        "light": rng.uniform(0, 0.5),
        "light_dir": rng.normal(0, 1, 2),
    }


def camera_pipeline(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A camera's traces on a full-resolution scene: blur, RGGB mosaic, sensor noise, demosaicing."""
    blurred = ndimage.gaussian_filter(scene, sigma=(rng.uniform(0.3, 0.9),) * 2 + (0,))
    h, w, _ = scene.shape
    mask = np.zeros((h, w, 3))
    mask[0::2, 0::2, 0] = 1
    mask[0::2, 1::2, 1] = mask[1::2, 0::2, 1] = 1
    mask[1::2, 1::2, 2] = 1
    raw = (blurred * mask).sum(axis=2)
    read, shot = rng.uniform(0.5, 3.0) / 255, rng.uniform(0.0, 0.02)
    raw = raw + rng.normal(0, 1, raw.shape) * np.sqrt(read**2 + shot**2 * np.clip(raw, 0, 1))
    kernel_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]]) / 4
    kernel_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4
    out = np.empty_like(scene)
    for c, kernel in enumerate((kernel_rb, kernel_g, kernel_rb)):
        out[..., c] = ndimage.convolve(raw * mask[..., c], kernel, mode="mirror")
    return np.clip(out, 0, 1)


def generator_weights(seed: int) -> dict:
    """The fake class's one generator "network": its fixed kernel flaws, drawn once per dataset seed.

    A trained GAN has one set of weights, so its traces repeat from image to image (a fingerprint):
    ``taps`` perturb the last stage's stride-2 transposed-convolution kernel per channel, and
    ``phase_gains[P]`` are the 2x2 per-phase gains an earlier stride-2 stage leaves, carried up by
    the later stages to a pattern of period ``P`` output pixels.
    """
    rng = np.random.default_rng([seed, 0x6A41])
    gains = {}
    for period in TRACE_PERIODS:
        g = rng.normal(0, 1, (2, 2))
        g -= g.mean()
        gains[period] = g / np.abs(g).max()
    return {"taps": rng.normal(0, 0.12, (3, 4)), "phase_gains": gains}


def _transposed_upsample(img: np.ndarray, taps: np.ndarray, unevenness: float) -> np.ndarray:
    """Stride-2 transposed convolution with a bilinear kernel perturbed per channel by ``taps``."""
    h, w, c = img.shape
    up = np.zeros((2 * h, 2 * w, c))
    up[::2, ::2] = img * 4
    base = np.array([0.25, 0.75, 0.75, 0.25])
    out = np.empty_like(up)
    for ch in range(c):
        t = base + unevenness * taps[ch]
        kernel = np.outer(t, t) / 4
        out[..., ch] = ndimage.convolve(up[..., ch], kernel, mode="mirror")
    return out


def stage_traces(size: int, phase_gains: dict) -> np.ndarray:
    """(size, size) periodic gain pattern of the earlier upsampling stages, in [-1, 1]: each stage's
    2x2 phase gains repeat every ``period`` output pixels, slightly smoothed by the stages after it,
    aligned with the output grid as a generator's upsampling is."""
    total = np.zeros((size, size))
    for period, g in phase_gains.items():
        reps = size // period + 1
        cells = np.kron(np.tile(g, (reps, reps)), np.ones((period // 2, period // 2)))
        total += ndimage.uniform_filter(cells, max(period // 8, 1), mode="wrap")[:size, :size]
    return total / max(np.abs(total).max(), 1e-12)


def generator_pipeline(params: dict, size: int, rng: np.random.Generator, weights: dict) -> np.ndarray:
    """A generator's traces: half-resolution synthesis, an uneven 2x transposed-convolution
    upsampling, the periodic gains of the earlier upsampling stages, learned sharpening and noise
    injection. ``weights``: :func:`generator_weights`; the strengths are random per image."""
    img = render_face(params | {"bg_tex": ndimage.zoom(params["bg_tex"], 0.5, order=1)}, size // 2)
    img = _transposed_upsample(img, weights["taps"], unevenness=rng.uniform(0.05, 0.6))
    img = img * (1 + MAX_STAGE_GAIN * rng.uniform(0.5, 1.0) * stage_traces(size, weights["phase_gains"]))[..., None]
    blurred = ndimage.gaussian_filter(img, sigma=(1.0, 1.0, 0))
    img = img + rng.uniform(0.0, 0.8) * (img - blurred)
    noise = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 0.7)
    img = img + rng.uniform(0.0, 3.0) / 255 * noise[..., None] / noise.std()
    return np.clip(img, 0, 1)


def make_image(label: int, seed: int, index: int, size: int) -> tuple[np.ndarray, int]:
    """Pixels (uint8 RGB) and JPEG quality of image ``index`` of class ``label``; deterministic."""
    rng = np.random.default_rng([seed, label, index])
    params = draw_scene(rng, size)
    if label == 1:
        pixels = camera_pipeline(render_face(params, size), rng)
    else:
        pixels = generator_pipeline(params, size, rng, generator_weights(seed))
    quality = int(rng.integers(75, 96))
    return np.round(pixels * 255).astype(np.uint8), quality


def generate(
    root: Path,
    seed: int,
    size: int,
    num_per_class: dict,
    on_image: Callable[[], None] | None = None,
    generator: str = LEGACY,
) -> None:
    """Write the dataset to ``root`` in the Kaggle layout, atomically (temp folder, then rename);
    ``on_image`` is called after each image written (progress). ``generator``: :data:`LEGACY` (this
    module's generator) or a name of :data:`jpegai_fd.datasets.generators.GENERATORS`."""
    if generator == LEGACY:
        make = make_image
    else:
        from jpegai_fd.datasets import generators

        def make(label, seed, index, size):
            return generators.make_image(label, seed, index, size, generator)

    root = Path(root)
    tmp = root.with_name(f"{root.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    counter = 0
    for split in SPLITS:
        rows = []
        for label, label_str in ((1, "real"), (0, "fake")):
            folder = tmp / IMAGE_SUBDIR / split / label_str
            folder.mkdir(parents=True, exist_ok=True)
            for k in range(int(num_per_class[split])):
                counter += 1
                stem = f"{counter:06d}"
                pixels, quality = make(label, seed, counter, size)
                Image.fromarray(pixels).save(folder / f"{stem}.jpg", quality=quality)
                if on_image is not None:
                    on_image()
                rows.append(
                    {
                        "id": stem,
                        "original_path": f"synthetic/{label_str}/{stem}.png",
                        "label": label,
                        "label_str": label_str,
                        "path": f"{split}/{label_str}/{stem}.jpg",
                    }
                )
        with (tmp / f"{split}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    meta = {
        "generator_version": GENERATOR_VERSION,
        "generator": generator,
        "seed": seed,
        "image_size": size,
        "num_per_class": {k: int(v) for k, v in num_per_class.items()},
    }
    (tmp / "GENERATOR.json").write_text(json.dumps(meta, indent=2))
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(root)
    except OSError:  # another process finished first: its copy is identical, keep it
        shutil.rmtree(tmp, ignore_errors=True)


class SyntheticFaces(KaggleCSVDataset):
    """``dataset=synthetic``: generated on first use into ``root`` (``num_per_class`` images per class
    and split, from ``seed``), then read like the Kaggle layout. Other keys: :class:`ImageDataset`."""

    def __init__(self, *, seed: int, num_per_class: dict, generator: str = LEGACY, **keys):
        super().__init__(**keys)
        from jpegai_fd.datasets.generators import GENERATORS

        if generator != LEGACY and generator not in GENERATORS:
            raise UserError(
                f"invalid value for 'dataset.generator': {generator!r}; allowed values: "
                f"{', '.join([LEGACY, *GENERATORS])}"
            )
        if generator != LEGACY and self.image_size % 2:
            raise UserError(
                f"invalid value for 'dataset.image_size': {self.image_size}; dataset.generator={generator} needs an even size"
            )
        self.generator = generator
        for split, n in num_per_class.items():
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise UserError(f"invalid value for 'dataset.num_per_class.{split}': {n!r}; it must be an integer >= 1")
        self.seed = int(seed)
        self.num_per_class = dict(num_per_class)

    def prepare(self) -> None:
        """Generate the images unless ``root`` already holds them with these settings."""
        root = self.root
        wanted = {
            "generator_version": GENERATOR_VERSION,
            "generator": self.generator,
            "seed": self.seed,
            "image_size": self.image_size,
            "num_per_class": self.num_per_class,
        }
        meta_file = root / "GENERATOR.json"
        if meta_file.is_file():
            found = json.loads(meta_file.read_text())
            if found != wanted:
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
            generate(
                root, self.seed, self.image_size, self.num_per_class, on_image=bar.update, generator=self.generator
            )
